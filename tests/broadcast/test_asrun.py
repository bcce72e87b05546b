"""As-run confirmations: located rejections, nothing lost, SQLite store, compliance, reach."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
import pytest

from langson_comms import Runtime
from langson_comms.broadcast.asrun import AsRunStore, compliance, ingest_csv
from langson_comms.broadcast.reach import planned_reach, reach
from langson_comms.errors import DataError

AT = pendulum.datetime(2022, 7, 20, 9, tz="Asia/Ho_Chi_Minh")


def _planned(schedule: Any, code: str, n: int) -> Any:
    return schedule.for_station(code)[n]


def test_bad_rows_are_located_and_every_valid_row_is_kept(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    a0 = _planned(schedule, "TTH-186", 0)  # 2022-06-30
    a1 = _planned(schedule, "TTH-186", 1)
    b0 = _planned(schedule, "TTH-180", 0)
    rows = [
        "station,date,time,item,confirmed_by,via",
        f"TTH-186,{a0.day},14:00,{a0.item},Nông Văn A,phone",  # 2 ok
        f"TTH-999,{a0.day},14:00,{a0.item},,",  # 3 unknown station
        f"TTH-186,2022-06-01,14:00,{a0.item},,",  # 4 date outside the plan
        f"TTH-186,{a0.day},14:00,{a0.item},,",  # 5 duplicate of line 2
        f"TTH-186,{a1.day},25:61,{a1.item},,",  # 6 bad time
        f"TTH-186,{a1.day:%d/%m/%Y},14:05,{a1.item},,paper",  # 7 ok (Vietnamese date)
        f"186,{b0.day},14:00,{b0.item},,",  # 8 ok: TTH-186 found by its administrative code
        f"TTH-180,{b0.day},14:00,no-such-sketch,,",  # 9 unknown item
        f"TTH-180,{b0.day},14:00,{b0.item},,fax",  # 10 bad via
        f"TTH-180,{b0.day},14:00,{b0.item},,",  # 11 ok
    ]
    path = tmp_path / "xac_nhan.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with AsRunStore(tmp_path / "db" / "broadcast.sqlite") as store:
        report = ingest_csv(path, store, channel.checker(schedule), at=AT)
    where = {(r.line, r.column): r.reason for r in report.rejected}
    assert report.read == 10 and report.read == report.accepted + len(report.rejected)
    assert report.accepted == 4
    assert "'TTH-999' is not a station" in where[(3, "station")]
    assert "outside the plan (2022-06-30 to 2022-12-31)" in where[(4, "date")]
    assert where[(5, None)] == "duplicate of line 2"
    assert "'25:61' is not a time of day" in where[(6, "time")]
    assert "'no-such-sketch' is no sketch or bulletin" in where[(9, "item")]
    assert "'fax' is not a way to confirm" in where[(10, "via")]
    formatted = {r.line: r.format() for r in report.rejected}
    assert formatted[3].startswith("xac_nhan.csv:3: station: ")

    # the store is a real file: a second process (a new store object) sees the same rows
    with AsRunStore(tmp_path / "db" / "broadcast.sqlite") as again:
        kept = again.confirmations()
        assert again.counts() == {"confirmations": 4, "rejections": 6}
        assert {(c.station, c.line) for c in kept} == {("TTH-186", 2), ("TTH-186", 7), ("TTH-186", 8), ("TTH-180", 11)}
        report2 = ingest_csv(path, again, channel.checker(schedule), at=AT)
    assert report2.accepted == 0 and report2.read == 10
    assert any("already confirmed by xac_nhan.csv:2" in r.reason for r in report2.rejected)


def test_bad_header_is_an_error_not_a_silent_skip(channel: Any, runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("station,day,time\nTTH-186,2022-07-01,14:00\n", encoding="utf-8")
    with AsRunStore(tmp_path / "s.sqlite") as store, pytest.raises(DataError, match="missing column") as info:
        ingest_csv(path, store, channel.checker(channel.schedule(runtime.registry)), at=AT)
    assert info.value.line == 1


def test_compliance_per_station_and_district_with_reach(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    first_three = list(schedule.for_station("TTH-186"))[:3]  # 30/6, 2/7, 3/7
    other = list(schedule.for_station("TTH-180"))[:2]
    rows = ["station,date,time,item"]
    rows.append(f"TTH-186,{first_three[0].day},14:00,{first_three[0].item}")  # on time
    rows.append(f"TTH-186,{first_three[1].day.add(days=2)},14:00,{first_three[1].item}")  # late, within grace
    rows.append(f"TTH-186,{first_three[1].day},19:30,{first_three[0].item}")  # unplanned
    rows.append(f"TTH-180,{other[0].day},16:59,{other[0].item}")  # on time, end of window
    path = tmp_path / "c.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with AsRunStore(tmp_path / "s.sqlite") as store:
        assert ingest_csv(path, store, channel.checker(schedule), at=AT).accepted == 4
        confirmations = store.confirmations()
    report = compliance(schedule, confirmations, channel.stations, as_of=pendulum.Date(2022, 7, 10), grace_days=3)
    hl = report.stations["TTH-186"]
    # due by 10/7 with 3 days' grace: airings on or before 6/7 are judged
    judged = [a for a in schedule.for_station("TTH-186") if a.day.add(days=3) < pendulum.Date(2022, 7, 10)]
    assert (hl.planned, hl.aired, hl.on_time, hl.late, hl.unplanned) == (106, 2, 1, 1, 1)
    assert hl.missed == len(judged) - 2 and hl.planned == hl.aired + hl.missed + hl.pending
    listeners = channel.stations.get("TTH-186").listeners
    assert hl.reach == reach(listeners, 3) == listeners * 3  # two planned + one unplanned sketch
    district = report.districts["186"]
    assert district.planned == 106 * len(channel.stations.in_district("186"))
    assert district.aired == 2 and district.reach == hl.reach
    assert report.total.aired == 3 and report.total.on_time == 2
    assert report.total.planned == 15_582
    assert report.total.planned == report.total.aired + report.total.missed + report.total.pending
    assert report.as_dict()["total"]["aired"] == 3  # type: ignore[index]
    assert planned_reach(schedule.airings, channel.stations) == 106 * sum(s.listeners for s in channel.stations)
    with pytest.raises(ValueError):
        reach(-1, 2)


def test_an_unclosed_quote_in_confirmations_is_one_located_rejection(
        runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    """Issue 13.1: a quote opened in confirmed_by must not swallow the later rows."""
    schedule = channel.schedule(runtime.registry)
    a0, a1, a2 = (_planned(schedule, "TTH-186", n) for n in range(3))
    rows = [
        "station,date,time,item,confirmed_by,via",
        f'TTH-186,{a0.day},14:00,{a0.item},"Nông Văn A,phone',  # 2 unclosed quote
        f"TTH-186,{a1.day},14:00,{a1.item},Lý B,phone",  # 3 ok
        f"TTH-186,{a2.day},14:00,{a2.item},,",  # 4 ok
    ]
    path = tmp_path / "xac_nhan.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-16"))
    with AsRunStore(tmp_path / "db" / "broadcast.sqlite") as store:
        report = ingest_csv(path, store, channel.checker(schedule), at=AT)
    assert (report.read, report.accepted) == (3, 2)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "unclosed quote starting at line 2")]


def test_an_undecodable_byte_in_confirmations_rejects_that_row(
        runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    """Issue 13.3: a non-UTF-8 byte is located, never an unlocated UnicodeDecodeError."""
    schedule = channel.schedule(runtime.registry)
    a0, a1 = (_planned(schedule, "TTH-186", n) for n in range(2))
    text = ("station,date,time,item,confirmed_by,via\n"
            f"TTH-186,{a0.day},14:00,{a0.item},Nông Văn A,phone\n").encode()
    text += f"TTH-186,{a1.day},14:00,{a1.item},".encode() + b"L\xff\x00,phone\n"
    path = tmp_path / "xac_nhan.csv"
    path.write_bytes(text)
    with AsRunStore(tmp_path / "db" / "broadcast.sqlite") as store:
        report = ingest_csv(path, store, channel.checker(schedule), at=AT)
    assert (report.read, report.accepted) == (2, 1)
    assert report.rejected[0].line == 3 and "not valid utf-8" in report.rejected[0].reason
    assert "\\xff" in (report.rejected[0].value or "")


def test_reading_confirmations_parses_each_date_and_time_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # reports read ~15,000 confirmations twice (reach and compliance): parsing the same
    # ~200 dates and few times per row was a fifth of a second each time
    import sqlite3

    import langson_comms.broadcast.asrun as asrun

    with AsRunStore(tmp_path / "b.sqlite"):
        pass
    with sqlite3.connect(tmp_path / "b.sqlite") as db:
        db.executemany("INSERT INTO confirmations (station, day, time, item, via, source, line, recorded_at)"
                       " VALUES (?, ?, ?, 'x', 'csv', 's', NULL, 'now')",
                       [(f"S{i}", f"2022-07-0{1 + i % 3}", ("08:00", "17:30")[i % 2]) for i in range(60)])
    parsed: list[str] = []
    for name in ("parse_date", "parse_local_time"):
        real = getattr(asrun, name)
        monkeypatch.setattr(asrun, name, lambda text, real=real: parsed.append(text) or real(text))
    with AsRunStore(tmp_path / "b.sqlite") as store:
        rows = store.confirmations()
    assert len(rows) == 60 and sorted(parsed) == ["08:00", "17:30", "2022-07-01", "2022-07-02", "2022-07-03"]
    assert rows[0].day == pendulum.date(2022, 7, 1) and {r.time.isoformat() for r in rows} == {"08:00:00", "17:30:00"}


def test_compliance_does_no_date_arithmetic_per_airing(runtime: Runtime, channel: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the report judges ~15,000 airings: pendulum's Date + timedelta (~25 us) per airing
    # and per candidate was a tenth of a second; ordinals give the same answers
    schedule = channel.schedule(runtime.registry)
    first = list(schedule.for_station("TTH-186"))[:2]
    from langson_comms.broadcast.asrun import Confirmation

    confirmations = [Confirmation("TTH-186", first[0].day.add(days=3), first[0].start.time(), first[0].item),
                     Confirmation("TTH-186", first[1].day.add(days=4), first[1].start.time(), first[1].item)]
    added: list[object] = []
    real = pendulum.Date.__add__
    monkeypatch.setattr(pendulum.Date, "__add__", lambda self, other: added.append(other) or real(self, other))
    report = compliance(schedule, confirmations, channel.stations, as_of=pendulum.Date(2022, 7, 10), grace_days=3)
    assert added == []
    hl = report.stations["TTH-186"]
    assert (hl.aired, hl.late, hl.unplanned) == (1, 1, 1)  # 3 days late is within the grace, 4 is not
    assert report.total.planned == report.total.aired + report.total.missed + report.total.pending
