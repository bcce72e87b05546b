"""Exports of a schedule: iCalendar, CSV run-sheets, printable weekly sheets.

Layout under the output folder::

    ics/all.ics, ics/<station>.ics                 RFC 5545, written by ``icalendar``
    runsheets/stations/<station>.csv               one row per airing
    runsheets/districts/<district code>.csv        every station of a district
    sheets/<station>.md, sheets/<station>.html     printable weekly sheets, in Vietnamese

Calendars are compact: a station's airings of one item at one time of day become one
VEVENT — a weekly ``RRULE`` with ``EXDATE`` for missed weeks when they fall on one
weekday, otherwise ``RDATE`` — and moved or bulletin airings stay single events.  So a
phone can open a station's half-year, and ``recurring-ical-events`` (used by
``read_calendar``) expands it back into exactly the planned airings.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import attrs
import icalendar
import pendulum
import recurring_ical_events

from ..clock import local_tz
from ..outputs import atomic_bytes_output, atomic_output, people_csv_output, refuse_inputs
from .scheduler import Airing, ItemKind, Schedule
from .stations import Station, StationLevel, StationRegistry

__all__ = [
    "CalendarEntry",
    "ExportResult",
    "calendar_for",
    "export_all",
    "export_paths",
    "read_calendar",
    "write_runsheet",
    "weekly_sheet_markdown",
]

PRODID = "-//langson-comms//broadcast//VI"
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
RUNSHEET_COLUMNS = (
    "station", "station_name", "district_code", "district_name", "commune_code", "commune_name",
    "date", "weekday", "start", "end", "seconds", "item", "title", "kind", "priority", "note",
)  # fmt: skip
_ICAL_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(code: str) -> str:
    """A file name for a station or district code."""
    return _ICAL_RUN.sub("_", code)


# --- iCalendar -------------------------------------------------------------------------------


def _event(airing: Airing, station: Station | None, stamp: dt.datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", airing.uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", airing.start)
    event.add("dtend", airing.end)
    label = "Bản tin" if airing.kind is ItemKind.BULLETIN else "Tiểu phẩm"
    event.add("summary", f"{label}: {airing.title}")
    if station is not None:
        event.add("location", station.name)
    description = [f"Mã: {airing.item}", f"Thời lượng: {airing.seconds:g} giây"]
    if airing.note:
        description.append(airing.note)
    event.add("description", "\n".join(description))
    event.add("categories", [airing.kind.value, airing.priority.value])
    if airing.priority.value != "normal":
        event.add("priority", 1)
    event.add("x-langson-station", airing.station)
    event.add("x-langson-item", airing.item)
    return event


def _series(airings: Sequence[Airing], station: Station | None, stamp: dt.datetime) -> icalendar.Event:
    """One VEVENT for airings of one item at one time of day (see the module doc)."""
    first = airings[0]
    event = _event(first, station, stamp)
    # The series UID names the item, station and first start; instances differ by start.
    first_day = dt.date(first.day.year, first.day.month, first.day.day)
    start = first.day.toordinal()
    offsets = [a.day.toordinal() - start for a in airings]
    if all(o % 7 == 0 for o in offsets):
        event.add("rrule", {"freq": "weekly", "until": airings[-1].start.in_timezone("UTC")})
        present = set(offsets)
        missing = [o for o in range(7, offsets[-1], 7) if o not in present]
        if missing:
            wall = first.start.time()
            tz = first.start.tzinfo
            event.add(
                "exdate",
                [dt.datetime.combine(first_day + dt.timedelta(days=o), wall, tzinfo=tz) for o in missing],
            )
    elif len(airings) > 1:
        event.add("rdate", [a.start for a in airings[1:]])
    return event


def station_events(
    airings: Iterable[Airing], stations: StationRegistry | None, stamp: dt.datetime
) -> list[icalendar.Event]:
    """The VEVENTs for ``airings``: series where possible, single events otherwise."""
    groups: dict[tuple[object, ...], list[Airing]] = {}
    singles: list[Airing] = []
    for airing in airings:
        if airing.kind is ItemKind.BULLETIN or airing.moved_from is not None or airing.note:
            singles.append(airing)
            continue
        key = (airing.station, airing.item, airing.start.time(), airing.seconds, airing.priority)
        groups.setdefault(key, []).append(airing)
    events = []
    for group in groups.values():
        group.sort(key=lambda a: a.start)
        station = stations.find(group[0].station) if stations is not None else None
        events.append(_series(group, station, stamp))
    for airing in singles:
        station = stations.find(airing.station) if stations is not None else None
        events.append(_event(airing, station, stamp))
    return events


def calendar_of(
    events: Iterable[icalendar.Event], *, name: str, vtimezone: icalendar.Timezone | None = None
) -> icalendar.Calendar:
    """A VCALENDAR around ready-made VEVENTs (an event object may sit in several calendars)."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", local_tz().name)
    cal.add_component(vtimezone or local_vtimezone())
    for event in events:
        cal.add_component(event)
    return cal


def calendar_for(
    airings: Iterable[Airing],
    stations: StationRegistry | None,
    *,
    name: str,
    stamp: dt.datetime,
    vtimezone: icalendar.Timezone | None = None,
) -> icalendar.Calendar:
    """A VCALENDAR holding ``airings`` (grouped into series where possible).

    ``vtimezone`` is the local VTIMEZONE to embed; building one takes ~30 ms, so
    ``export_all`` builds it once for every calendar it writes.
    """
    return calendar_of(station_events(airings, stations, stamp), name=name, vtimezone=vtimezone)


def local_vtimezone() -> icalendar.Timezone:
    """The VTIMEZONE of Asia/Ho_Chi_Minh, built by icalendar from the tz database."""
    return icalendar.Timezone.from_tzid(local_tz().name)


@attrs.frozen
class CalendarEntry:
    """One airing read back from a calendar."""

    station: str
    item: str
    start: dt.datetime
    end: dt.datetime
    kind: str
    priority: str


def read_calendar(path: Path) -> list[CalendarEntry]:
    """Parse a calendar with ``icalendar`` and expand its series with ``recurring-ical-events``."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    entries = []
    for event in recurring_ical_events.of(cal).between(dt.date(1970, 1, 1), dt.date(2100, 1, 1)):
        categories = [str(c) for c in event["categories"].cats] if "categories" in event else []
        entries.append(
            CalendarEntry(
                station=str(event.get("x-langson-station", "")),
                item=str(event.get("x-langson-item", "")),
                start=event["dtstart"].dt,
                end=event["dtend"].dt,
                kind=categories[0] if categories else "",
                priority=categories[1] if len(categories) > 1 else "",
            )
        )
    entries.sort(key=lambda e: (e.station, e.start, e.item))
    return entries


# --- CSV run-sheets ------------------------------------------------------------------------


def _runsheet_row(airing: Airing, station: Station | None, stations: StationRegistry) -> list[str]:
    district = station.district_code if station else ""
    commune = station.admin_code if station and station.level is StationLevel.COMMUNE else ""
    return [
        airing.station,
        station.name if station else "",
        district,
        stations.unit_name(district, airing.day),
        commune,
        stations.unit_name(commune, airing.day),
        airing.day.isoformat(),
        WEEKDAYS_VI[airing.day.isoweekday() - 1],
        f"{airing.start:%H:%M:%S}",
        _local_end(airing),
        f"{airing.seconds:g}",
        airing.item,
        airing.title,
        airing.kind.value,
        airing.priority.value,
        airing.note,
    ]


def _local_end(airing: Airing) -> str:
    # Stdlib arithmetic on the local wall time: pendulum's aware addition is ~10x slower,
    # and local time has no DST jumps in Vietnam.
    end = dt.datetime.combine(airing.day, airing.start.time()) + dt.timedelta(seconds=airing.seconds)
    return f"{end:%H:%M:%S}"


def write_runsheet(path: Path, airings: Iterable[Airing], stations: StationRegistry) -> int:
    """Write one CSV row per airing; return the number of rows.

    A run-sheet is meant for people: UTF-8 with a byte-order mark (Excel shows the
    Vietnamese right), with district and commune names from ``stations.regions`` beside
    their codes (empty when the registry has no regions).
    """
    count = 0
    with people_csv_output(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(RUNSHEET_COLUMNS)
        for airing in airings:
            writer.writerow(_runsheet_row(airing, stations.find(airing.station), stations))
            count += 1
    return count


# --- printable weekly sheets ---------------------------------------------------------------


def _weeks(airings: Sequence[Airing]) -> dict[pendulum.Date, list[Airing]]:
    weeks: dict[pendulum.Date, list[Airing]] = {}
    for airing in airings:
        monday = airing.day.subtract(days=airing.day.isoweekday() - 1)
        weeks.setdefault(monday, []).append(airing)
    return weeks


def _sheet_rows(airing: Airing) -> list[str]:
    kind = "Bản tin" if airing.kind is ItemKind.BULLETIN else "Tiểu phẩm"
    priority = {"normal": "", "priority": " (ưu tiên)", "emergency": " (khẩn cấp)"}[airing.priority.value]
    return [
        WEEKDAYS_VI[airing.day.isoweekday() - 1],
        f"{airing.day:%d/%m/%Y}",
        f"{airing.start:%H:%M}",
        f"{kind}{priority}: {airing.title}",
        f"{airing.seconds:g} giây",
        airing.note,
        "",
    ]


SHEET_HEADER = ("Thứ", "Ngày", "Giờ", "Nội dung", "Thời lượng", "Ghi chú", "Đã phát (giờ, ký tên)")


def _heading(station: Station) -> list[str]:
    return [
        f"Đài: {station.name} (mã {station.code}, đơn vị hành chính {station.admin_code})",
        f"Khung giờ: {station.window or 'theo kế hoạch chung'} · Người liên hệ: {station.contact or '—'}",
    ]


def _week_title(monday: pendulum.Date) -> str:
    sunday = monday.add(days=6)
    return f"Tuần {monday.isocalendar()[1]} ({monday:%d/%m} – {sunday:%d/%m/%Y})"


def weekly_sheet_markdown(station: Station, airings: Sequence[Airing], *, title: str) -> str:
    """A Markdown document with one table per week, ready to print and sign."""
    lines = [f"# {title}", "", *[f"{h}  " for h in _heading(station)], ""]
    for monday, items in _weeks(airings).items():
        lines += [f"## {_week_title(monday)}", "", "| " + " | ".join(SHEET_HEADER) + " |"]
        lines.append("|" + "---|" * len(SHEET_HEADER))
        for airing in items:
            cells = [c.replace("|", "\\|") for c in _sheet_rows(airing)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append("Đài ghi giờ phát thực tế và ký vào cột cuối; gửi lại để nhập xác nhận phát sóng.")
    return "\n".join(lines) + "\n"


_CSS = (
    "body{font-family:'Times New Roman',serif;font-size:12pt;margin:1.5cm}"
    "table{border-collapse:collapse;width:100%;margin-bottom:1em}"
    "th,td{border:1px solid #333;padding:3px 6px;text-align:left;vertical-align:top}"
    "section{page-break-after:always}h2{font-size:13pt}"
)


def weekly_sheet_html(station: Station, airings: Sequence[Airing], *, title: str) -> str:
    """The same sheet as printable HTML, one week per printed page."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="vi"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        *[f"<p>{esc(h)}</p>" for h in _heading(station)],
    ]
    head = "".join(f"<th>{esc(h)}</th>" for h in SHEET_HEADER)
    for monday, items in _weeks(airings).items():
        rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _sheet_rows(a)) + "</tr>" for a in items)
        parts.append(
            f"<section><h2>{esc(_week_title(monday))}</h2>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --- everything ----------------------------------------------------------------------------


def export_paths(stations: StationRegistry, out: Path, formats: Iterable[str]) -> list[Path]:
    """Every file ``export_all`` writes under ``out`` for these formats."""
    wanted = set(formats)
    paths: list[Path] = []
    if "ics" in wanted:
        paths += [out / "ics" / f"{safe_name(s.code)}.ics" for s in stations]
        paths.append(out / "ics" / "all.ics")
    if "csv" in wanted:
        paths += [out / "runsheets" / "stations" / f"{safe_name(s.code)}.csv" for s in stations]
        paths += [out / "runsheets" / "districts" / f"{d}.csv" for d in stations.district_codes()]
    for fmt in ("md", "html"):
        if fmt in wanted:
            paths += [out / "sheets" / f"{safe_name(s.code)}.{fmt}" for s in stations]
    return paths


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_bytes_output(path) as handle:
        handle.write(data)


@attrs.frozen
class ExportResult:
    """What ``export_all`` wrote: file counts by kind, and the number of airings."""

    out: Path
    files: Mapping[str, int]
    airings: int


def export_all(
    schedule: Schedule,
    stations: StationRegistry,
    out: Path,
    *,
    stamp: dt.datetime,
    formats: Iterable[str] = ("ics", "csv", "md", "html"),
    title: str = "Lịch phát tiểu phẩm truyền thông “Công dân số Xứ Lạng”",
    inputs: Iterable[tuple[str, Path]] = (),
) -> ExportResult:
    """Write every export of ``schedule`` under ``out`` (see the module doc).

    Only the files of ``export_paths`` are written, each through a temporary file renamed
    into place; other files under ``out`` are left alone.  If one of them is one of the
    ``inputs`` (label, path) nothing is written: ``ConfigError`` naming both.
    """
    wanted = set(formats)
    refuse_inputs([("export", path) for path in export_paths(stations, out, wanted)], inputs)
    files: dict[str, int] = {f: 0 for f in wanted}
    by_station = schedule.by_station
    if "ics" in wanted:
        vtz = local_vtimezone()
        every: list[icalendar.Event] = []
        for station in stations:
            events = station_events(by_station.get(station.code, ()), stations, stamp)
            every += events
            cal = calendar_of(events, name=f"{title} — {station.name}", vtimezone=vtz)
            _write_bytes(out / "ics" / f"{safe_name(station.code)}.ics", cal.to_ical())
            files["ics"] += 1
        cal = calendar_of(every, name=title, vtimezone=vtz)
        _write_bytes(out / "ics" / "all.ics", cal.to_ical())
        files["ics"] += 1
    if "csv" in wanted:
        for station in stations:
            path = out / "runsheets" / "stations" / f"{safe_name(station.code)}.csv"
            write_runsheet(path, by_station.get(station.code, ()), stations)
            files["csv"] += 1
        for district in stations.district_codes():
            airings = [a for s in stations.in_district(district) for a in by_station.get(s.code, ())]
            write_runsheet(out / "runsheets" / "districts" / f"{district}.csv", airings, stations)
            files["csv"] += 1
    for fmt, render in (("md", weekly_sheet_markdown), ("html", weekly_sheet_html)):
        if fmt not in wanted:
            continue
        for station in stations:
            text = render(station, by_station.get(station.code, ()), title=title)
            with atomic_output(out / "sheets" / f"{safe_name(station.code)}.{fmt}") as handle:
                handle.write(text)
            files[fmt] += 1
    return ExportResult(out=out, files=files, airings=len(schedule.airings))
