"""Exports: calendars read back (icalendar + recurring-ical-events) give the same airings."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import icalendar
import pendulum
import recurring_ical_events

from langson_comms import Runtime
from langson_comms.broadcast.exports import export_all, read_calendar
from langson_comms.broadcast.scheduler import Bulletin, Priority

STAMP = pendulum.datetime(2022, 6, 25, tz="UTC")


def _key(station: str, item: str, start: Any, end: Any) -> tuple[str, str, str, str]:
    return (station, item, start.astimezone(pendulum.UTC).isoformat(), end.astimezone(pendulum.UTC).isoformat())


def test_calendars_parsed_back_give_the_same_airings(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    day = pendulum.Date(2022, 8, 6)
    emergency = Bulletin("lu", "Lũ", Priority.EMERGENCY, day, 90, ("all",), pendulum.Time(14, 0))
    schedule = channel.schedule(runtime.registry, bulletins=[emergency])
    result = export_all(schedule, channel.stations, tmp_path, stamp=STAMP)
    assert result.files == {"ics": 148, "csv": 158, "md": 147, "html": 147}

    planned = sorted(_key(a.station, a.item, a.start, a.end) for a in schedule.airings)
    everything = read_calendar(tmp_path / "ics" / "all.ics")
    assert sorted(_key(e.station, e.item, e.start, e.end) for e in everything) == planned
    assert {e.priority for e in everything if e.item == "lu"} == {"emergency"}

    station = list(channel.stations)[7]
    one = read_calendar(tmp_path / "ics" / f"{station.code}.ics")
    assert [_key(e.station, e.item, e.start, e.end) for e in one] == [
        _key(a.station, a.item, a.start, a.end) for a in schedule.for_station(station.code)
    ]


def test_calendar_is_valid_rfc5545_for_both_libraries(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    export_all(schedule, channel.stations, tmp_path, stamp=STAMP, formats=["ics"])
    raw = (tmp_path / "ics" / "TTH-186.ics").read_bytes()
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and b"VERSION:2.0" in raw
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded
    cal = icalendar.Calendar.from_ical(raw)
    events = list(cal.walk("VEVENT"))
    assert events and all("UID" in e and "DTSTAMP" in e and "DTSTART" in e for e in events)
    assert next(iter(cal.walk("VTIMEZONE")))["TZID"] == "Asia/Ho_Chi_Minh"
    assert len(events) < 20  # series, not 106 single events
    between = recurring_ical_events.of(cal).between(pendulum.Date(2022, 9, 1), pendulum.Date(2022, 9, 5))
    days = sorted(e["DTSTART"].dt.date().isoformat() for e in between)
    assert days == ["2022-09-01", "2022-09-03", "2022-09-04"]


def test_runsheets_and_weekly_sheets(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    export_all(schedule, channel.stations, tmp_path, stamp=STAMP, formats=["csv", "md", "html"])
    with (tmp_path / "runsheets" / "stations" / "TTH-186.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 106
    assert rows[0]["date"] == "2022-06-30" and rows[0]["weekday"] == "Thứ Năm" and rows[0]["start"] == "14:00:00"
    district_rows = 0
    for district in channel.stations.district_codes():
        with (tmp_path / "runsheets" / "districts" / f"{district}.csv").open(encoding="utf-8") as handle:
            district_rows += sum(1 for _ in csv.DictReader(handle))
    assert district_rows == 15_582
    md = (tmp_path / "sheets" / "TTH-186.md").read_text(encoding="utf-8")
    assert md.count("## Tuần ") == 27 and "Đã phát (giờ, ký tên)" in md and "Quốc khánh" in md
    html = (tmp_path / "sheets" / "TTH-186.html").read_text(encoding="utf-8")
    assert html.count("<section>") == 27 and '<html lang="vi">' in html and "&amp;" in html
