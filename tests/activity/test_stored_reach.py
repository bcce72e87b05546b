"""SMS and broadcast reach through the same contract: read from the ledger and the as-run store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest

from langson_comms import Runtime
from langson_comms.reach import reach_records
from langson_comms.sms.broadcast_areas import AreaTotals
from langson_comms.sms.ledger import DeliveryReport, Recipient, Result, SmsState, open_ledger

from .conftest import write_campaign

SMS = """
[messages.sms_invite]
text = "Hãy tải Công dân số Xứ Lạng"

[channels.sms]
kind = "sms"
mode = "carrier_broadcast"
carriers = ["viettel"]
message = "sms_invite"
ledger = "ledger.sqlite"
"""


def at(day: int, hour: int) -> float:
    return pendulum.datetime(2022, 7, day, hour, tz="Asia/Ho_Chi_Minh").timestamp()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sms_reach_is_delivered_messages_by_local_day_and_carrier_totals_by_area(
        runtime: Runtime, tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    where = "ledger.sqlite" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    campaign = runtime.load_campaign(write_campaign(tmp_path, SMS.replace("ledger.sqlite", where)))
    assert list(reach_records(campaign, channels=["sms"])) == []  # no ledger yet: nothing, none created
    assert not (tmp_path / "ledger.sqlite").exists()
    with open_ledger(tmp_path / where if backend == "sqlite" else where) as ledger:
        ledger.enqueue(campaign.id, "sms_invite", [Recipient(f"+8491234567{i}") for i in range(3)],
                       promotional=True, now=at(5, 8))
        claimed = ledger.claim(campaign.id, "sms_invite", at(5, 8), 10)
        ledger.record([Result(c.id, SmsState.ACCEPTED, gateway="g", carrier_id=f"c{c.id}") for c in claimed],
                      at(5, 8))
        # delivered at 23:30 local on the 5th (16:30 UTC) and 00:30 local on the 6th; one never reported
        ledger.record_reports([DeliveryReport(f"c{claimed[0].id}", "delivered")], at(5, 23) + 1800, gateway="g")
        ledger.record_reports([DeliveryReport(f"c{claimed[1].id}", "delivered")], at(6, 0) + 1800, gateway="g")
        ledger.order_broadcast(campaign.id, "viettel", "sms_invite", at(7, 9))
        ledger.report_broadcast(campaign.id, "viettel", "sms_invite", subscribers=1000, sent=900, delivered=800,
                                now=at(8, 9), areas=[AreaTotals("5971", 500, 450, 400)])
    records = sorted(reach_records(campaign, channels=["sms"]), key=lambda r: (r.day, r.count))
    assert [(r.day, r.count, r.commune_code, r.district_code) for r in records] == [
        (dt.date(2022, 7, 5), 1, None, None), (dt.date(2022, 7, 6), 1, None, None),
        (dt.date(2022, 7, 7), 400, "5971", "178"), (dt.date(2022, 7, 7), 400, None, None)]
    assert records[0].method.startswith("delivered messages in the SMS ledger")
    assert "carrier viettel" in records[2].method and all(r.kind == "sms" for r in records)


def test_broadcast_reach_is_confirmed_sketch_airings_times_the_station_listeners(
        runtime: Runtime, tmp_path: Path) -> None:
    import shutil

    from langson_comms.broadcast.asrun import Confirmation

    example = Path(__file__).resolve().parents[2] / "examples" / "langson_2022"
    folder = tmp_path / "ref"
    shutil.copytree(example, folder, ignore=shutil.ignore_patterns(".langson", "__pycache__", "activity"))
    campaign = runtime.load_campaign(folder / "campaign.toml")
    channel = campaign.channel("broadcast")
    station = channel.stations.find("TTH-180")
    sketch = next(iter(channel.sketches)).id
    when = dt.datetime(2022, 7, 20, 10, tzinfo=dt.UTC)
    with channel.store() as store:
        store.add(Confirmation("TTH-180", pendulum.Date(2022, 7, 5), dt.time(14, 0), sketch), at=when)
        store.add(Confirmation("TTH-180", pendulum.Date(2022, 7, 7), dt.time(14, 0), sketch), at=when)
        store.add(Confirmation("TTH-180", pendulum.Date(2022, 7, 7), dt.time(15, 0), "bulletin-x"), at=when)
    records = list(reach_records(campaign, channels=["broadcast"]))
    assert [(r.day, r.count, r.district_code) for r in records] == [
        (dt.date(2022, 7, 5), station.listeners, "180"), (dt.date(2022, 7, 7), station.listeners, "180")]
    assert records[0].method == f"confirmed airing × {station.listeners:,} estimated listeners of the station's area"
