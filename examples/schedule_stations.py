"""Schedule three loudspeaker stations for a month and export their calendars.

    uv run python examples/schedule_stations.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from langson_comms import (
    broadcast_target,
    build_campaign,
    export_broadcasts,
    schedule_broadcasts,
)

STATIONS = """\
code,name,level,admin_code,district_code,listeners,ip_connected
TTH-178,Đài huyện Văn Lãng,district,178,178,9000,yes
XA-06250,Đài xã Hoàng Văn Thụ,commune,06250,178,1200,no
XA-06253,Đài xã Tân Mỹ,commune,06253,178,1500,no
"""

SKETCHES = """\
id,title,topic,language,duration_seconds,producer,due,delivered,audio
cds-cai-dat,Hướng dẫn cài đặt “Công dân số Xứ Lạng”,platform,vi,55,Đài PT-TH tỉnh,2022-06-20,2022-06-17,
isee-tro-ly-ao,Trợ lý ảo iSee,platform,vi,58,Đài PT-TH tỉnh,2022-06-20,2022-06-20,
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "stations.csv").write_text(STATIONS, encoding="utf-8")
        (folder / "sketches.csv").write_text(SKETCHES, encoding="utf-8")
        campaign = build_campaign({
            "campaign": {"id": "cds-2022", "title": "Công dân số Xứ Lạng",
                         "start": dt.date(2022, 7, 1), "end": dt.date(2022, 7, 31)},
            "channels": {"broadcast": {
                "kind": "broadcast", "scheduler": "weekly_rotation",
                "stations": "stations.csv", "sketches": "sketches.csv",
                "start": dt.date(2022, 7, 1), "end": dt.date(2022, 7, 31),
                "weekdays": ["tuesday", "saturday"], "airings_per_week": 2,
                "window": {"start": "14:00", "end": "17:00"},
                "store": "asrun.sqlite"}},
        }, base_dir=folder)
        target = broadcast_target(campaign)
        plan = schedule_broadcasts(target)
        for code in ("TTH-178", "XA-06250", "XA-06253"):
            print(f"{code}: {len(plan.for_station(code))} airings in July 2022")
        result = export_broadcasts(target, folder / "calendars", formats=["ics"],
                                   schedule=plan)
        calendars = sorted(p.name for p in (folder / "calendars").rglob("*.ics"))
        print(f"exported {result.files.get('ics', 0)} calendar(s): {', '.join(calendars)}")


if __name__ == "__main__":
    main()
