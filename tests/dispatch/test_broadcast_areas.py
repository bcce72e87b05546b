"""A carrier broadcast's totals broken down by area: the file, the ledger, the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from langson_comms.cli import main
from langson_comms.errors import DataError, DataErrors, LedgerError
from langson_comms.regions import Region, RegionRegistry
from langson_comms.sms.broadcast_areas import AreaTotals, read_area_totals
from langson_comms.sms.ledger import SqliteLedger

CAMPAIGN = """\
[campaign]
id = "t"
title = "T"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung"

[channels.sms]
kind = "sms"
message = "invite"
mode = "carrier_broadcast"
carriers = ["viettel", "mobifone"]

[regions]
province = 20

[[regions.units]]
code = 20
name = "Tỉnh Lạng Sơn"
level = "province"

[[regions.units]]
code = 178
name = "Thành phố Lạng Sơn"
level = "district"
parent = 20
valid_to = 2025-06-30

[[regions.units]]
code = 180
name = "Huyện Tràng Định"
level = "district"
parent = 20
valid_to = 2025-06-30

[[regions.units]]
code = 6001
name = "Phường Chi Lăng"
level = "commune"
parent = 178
"""


def _regions() -> RegionRegistry:
    return RegionRegistry([
        Region("178", "Thành phố Lạng Sơn", "district", "20", valid_to=pendulum.date(2025, 6, 30)),
        Region("180", "Huyện Tràng Định", "district", "20", valid_to=pendulum.date(2025, 6, 30)),
        Region("6001", "Phường Chi Lăng", "commune", "178"),
    ])


def test_reads_a_breakdown_with_bom_and_a_name_column(tmp_path: Path) -> None:
    path = tmp_path / "viettel.csv"
    path.write_text("\ufeffarea,name,subscribers,sent,delivered\n"
                    "178,TP Lạng Sơn,120000,119000,118000\n0180,Tràng Định,40000,39500,39000\n",
                    encoding="utf-8")
    rows = read_area_totals(path, _regions(), on=pendulum.date(2022, 6, 10))
    assert rows == [AreaTotals("178", 120000, 119000, 118000), AreaTotals("180", 40000, 39500, 39000)]


def test_every_problem_is_reported_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("area,subscribers,sent,delivered\n"
                    "178,100,90,80\n"          # 2: fine
                    "Tràng Định,10,9,8\n"      # 3: a name, not a code
                    "999,10,9,8\n"             # 4: unknown unit
                    "178,5,5,5\n"              # 5: same area twice
                    "6001,5,5,5\n"             # 6: a commune among districts
                    "180,ten,9,8\n"            # 7: not a number
                    "180,10,9,12\n",           # 8: delivered > sent (180 counted once: 7 failed)
                    encoding="utf-8")
    with pytest.raises(DataErrors) as info:
        read_area_totals(path, _regions(), on=pendulum.date(2022, 6, 10))
    found = [(e.line, e.column) for e in info.value.errors]
    assert found == [(3, "area"), (4, "area"), (5, "area"), (6, "area"), (7, "subscribers"),
                     (8, "area"), (8, "delivered")]
    text = str(info.value).splitlines()
    assert text[0] == f"{path}:3: area: 'Tràng Định' is not a unit code (expected digits)"
    assert "already on line 2" in text[2]
    assert "is a commune, but line 2 is a district" in text[3]
    assert "already on line 7" in text[5]
    assert "expected delivered (12) ≤ sent (9) ≤ subscribers (10)" in text[6]


def test_units_are_checked_on_the_day_given(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("area,subscribers,sent,delivered\n178,1,1,1\n", encoding="utf-8")
    with pytest.raises(DataErrors, match=r"late.csv:2: area: 178 is not a unit of the "
                                         r"campaign's regions valid on 2025-07-01"):
        read_area_totals(path, _regions(), on=pendulum.date(2025, 7, 1))


@pytest.mark.parametrize(("text", "expected"), [
    ("area,subscribers,sent\n178,1,1\n", r"x.csv:1: missing column\(s\) delivered"),
    ("area,subscribers,sent,delivered\n", r"x.csv:2: no areas in the file"),
])
def test_header_and_empty_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        read_area_totals(path, _regions())


def test_ledger_stores_and_replaces_the_breakdown(tmp_path: Path) -> None:
    with SqliteLedger(tmp_path / "l.sqlite") as ledger:
        ledger.order_broadcast("t", "viettel", "invite", 1.0)
        areas = [AreaTotals("180", 40, 39, 38), AreaTotals("178", 100, 99, 98)]
        ledger.report_broadcast("t", "viettel", "invite", subscribers=150, sent=140,
                                delivered=137, now=2.0, areas=areas)
        (order,) = ledger.broadcast_orders("t")
        assert order.areas == (AreaTotals("178", 100, 99, 98), AreaTotals("180", 40, 39, 38))
        with pytest.raises(LedgerError, match="the areas add up to 138 sent, more than the "
                                              "carrier's total of 130"):
            ledger.report_broadcast("t", "viettel", "invite", subscribers=150, sent=130,
                                    delivered=130, now=3.0, areas=areas)
        assert ledger.broadcast_orders("t")[0].areas == order.areas  # refused whole
        ledger.report_broadcast("t", "viettel", "invite", subscribers=150, sent=140,
                                delivered=137, now=4.0)
        assert ledger.broadcast_orders("t")[0].areas == ()  # a new report replaces it whole


def test_commands_record_areas_and_status_adds_carriers_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(CAMPAIGN, encoding="utf-8")
    viettel, mobifone = tmp_path / "viettel.csv", tmp_path / "mobifone.csv"
    viettel.write_text("area,subscribers,sent,delivered\n178,1000,990,980\n180,400,390,380\n",
                       encoding="utf-8")
    mobifone.write_text("area,subscribers,sent,delivered\n178,500,500,490\n", encoding="utf-8")
    assert main(["sms", "broadcast-order", str(campaign)]) == 0
    report = ["sms", "broadcast-report", str(campaign)]
    assert main([*report, "--carrier", "viettel", "--subscribers", "1500", "--sent", "1480",
                 "--delivered", "1460", "--areas", str(viettel)]) == 0
    assert "2 areas hold 1,400 of those subscribers (100 unattributed)" in capsys.readouterr().out
    # areas adding up to more than the totals: located, and nothing recorded
    assert main([*report, "--carrier", "mobifone", "--subscribers", "600", "--sent", "480",
                 "--delivered", "470", "--areas", str(mobifone)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {mobifone}: sent: the areas add up to 500 sent, more than the "
                   "carrier's total of 480",
                   f"error: {mobifone}: delivered: the areas add up to 490 delivered, more than "
                   "the carrier's total of 470"]
    assert main([*report, "--carrier", "mobifone", "--subscribers", "600", "--sent", "590",
                 "--delivered", "580", "--areas", str(mobifone)]) == 0
    capsys.readouterr()
    assert main(["sms", "status", str(campaign), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["broadcast_areas"]["invite"] == [
        {"area": "178", "name": "Thành phố Lạng Sơn", "subscribers": 1500, "sent": 1490,
         "delivered": 1470},
        {"area": "180", "name": "Huyện Tràng Định", "subscribers": 400, "sent": 390,
         "delivered": 380},
    ]
    by_carrier = {o["carrier"]: o for o in status["broadcasts"]}
    assert [a["area"] for a in by_carrier["mobifone"]["areas"]] == ["178"]
    assert main(["sms", "status", str(campaign)]) == 0
    out = capsys.readouterr().out
    assert "by area" in out and "Huyện Tràng Định" in out and "95.0" in out  # 380 / 400


def test_an_unclosed_quote_is_located_and_the_later_areas_are_checked(tmp_path: Path) -> None:
    """Issue 13.1: a quote opened in a name column must not swallow the later areas."""
    path = tmp_path / "viettel.csv"
    path.write_text('area,name,subscribers,sent,delivered\n'
                    '178,"TP Lạng Sơn,120000,119000,118000\n'   # 2: unclosed quote
                    '180,Tràng Định,40000,39500,39000\n'        # 3: fine
                    '999,"Không có",1,1,1\n',                  # 4: unknown unit
                    encoding="utf-8")
    with pytest.raises(DataErrors) as info:
        read_area_totals(path, _regions(), on=pendulum.date(2022, 6, 10))
    assert [(e.line, e.column) for e in info.value.errors] == [(2, None), (4, "area")]
    assert f"{path}:2: unclosed quote starting at line 2" in str(info.value)
