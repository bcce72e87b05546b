"""``measure_campaign`` gives the figures ``report`` gives: the broadcast compliance too
(it needs the runtime's registry to rebuild the plan; without it those figures were
silently missing from the API's measurement)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum

from langson_comms import FrozenClock, Runtime, api, build_campaign

STATIONS = ("code,name,level,admin_code,district_code,listeners,ip_connected\n"
            "TTH-178,Đài huyện Văn Lãng,district,178,178,9000,no\n")
SKETCHES = ("id,title,topic,language,duration_seconds,producer,due,delivered,audio\n"
            "cds,Hướng dẫn cài đặt,platform,vi,55,Đài PT-TH tỉnh,2022-06-20,2022-06-17,\n")


def test_measure_campaign_includes_the_broadcast_compliance(tmp_path: Path) -> None:
    (tmp_path / "stations.csv").write_text(STATIONS, encoding="utf-8")
    (tmp_path / "sketches.csv").write_text(SKETCHES, encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={})
    campaign = build_campaign({
        "campaign": {"id": "py", "title": "Py", "start": dt.date(2022, 7, 1),
                     "end": dt.date(2022, 7, 31)},
        "channels": {"broadcast": {
            "kind": "broadcast", "scheduler": "weekly_rotation", "stations": "stations.csv",
            "sketches": "sketches.csv", "start": dt.date(2022, 7, 1),
            "end": dt.date(2022, 7, 31), "weekdays": ["tuesday"], "airings_per_week": 1,
            "window": {"start": "14:00", "end": "17:00"}, "store": "asrun.sqlite"}},
        "targets": {"reaches": {"kind": "reach", "target": 100_000}},
    }, runtime=runtime, base_dir=tmp_path)
    target = api.broadcast_target(campaign)
    plan = api.schedule_broadcasts(target, runtime=runtime)
    first = plan.airings[0]
    (tmp_path / "asrun.csv").write_text(
        "station,date,time,item\n"
        f"{first.station},{first.day},{first.start.format('HH:mm')},{first.item}\n",
        encoding="utf-8")
    clock = FrozenClock(pendulum.datetime(2022, 8, 1, 9, tz="Asia/Ho_Chi_Minh"))
    assert api.confirm_broadcasts(target, tmp_path / "asrun.csv", schedule=plan,
                                  clock=clock).accepted == 1

    measured = api.measure_campaign(campaign, clock=clock, env={}, runtime=runtime)
    assert measured.compliance.broadcast_total is not None
    assert measured.compliance.broadcast_total["planned"] == len(plan.airings)
    # without a runtime, the default one rebuilds the same plan
    default = api.measure_campaign(campaign, clock=clock, env={})
    assert default.compliance.broadcast_total == measured.compliance.broadcast_total
