"""Loudspeaker stations: who airs, where, for how many listeners, and when they exist.

A station is keyed by the official administrative code of the unit it serves, with
validity dates, because Lạng Sơn's units were merged in December 2024 and the district
level went away in July 2025 (see ``langson_comms.regions``).  Each station also has a
short operator code (``code``) used on paper forms and in confirmations; either code
finds it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import pendulum

from ..config import parse_local_time
from ..errors import DataError
from ..regions import Level, RegionRegistry, canonical_code
from ._csv import parse_date, raise_problems, read_rows

__all__ = [
    "STATION_COLUMNS",
    "Station",
    "StationException",
    "StationLevel",
    "StationRegistry",
    "TimeWindow",
    "read_exceptions",
]

STATION_COLUMNS = ("code", "name", "level", "admin_code", "district_code", "listeners")
STATION_OPTIONAL = ("ip_connected", "contact", "valid_from", "valid_to", "window", "languages")

LANGUAGES = ("vi", "tay", "nung")
_LANGUAGE_NAMES = {
    "vi": "vi", "việt": "vi", "tiếng việt": "vi", "vietnamese": "vi",
    "tay": "tay", "tày": "tay", "tiếng tày": "tay",
    "nung": "nung", "nùng": "nung", "tiếng nùng": "nung",
}  # fmt: skip


def parse_language(value: str) -> str:
    """``vi``/``tay``/``nung`` (also ``Tày``, ``Nùng``, ``tiếng Việt``) → the short code."""
    found = _LANGUAGE_NAMES.get(" ".join(value.strip().lower().split()))
    if found is None:
        raise ValueError(f"{value!r} is not a language (expected vi, tay or nung)")
    return found


class StationLevel(enum.StrEnum):
    DISTRICT = "district"
    COMMUNE = "commune"


@attrs.frozen
class TimeWindow:
    """A local time-of-day window, ``start`` inclusive to ``end`` exclusive, within one day."""

    start: dt.time
    end: dt.time

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"window ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M})")

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        """``"14:00-17:00"`` (also with ``–``) → ``TimeWindow``."""
        parts = text.replace("–", "-").split("-")
        if len(parts) != 2:
            raise ValueError(f"{text!r} is not a time window (expected HH:MM-HH:MM, e.g. 14:00-17:00)")
        return cls(parse_local_time(parts[0]), parse_local_time(parts[1]))

    @property
    def seconds(self) -> int:
        return (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) * 60

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _in(valid_from: pendulum.Date | None, valid_to: pendulum.Date | None, day: dt.date) -> bool:
    return (valid_from is None or valid_from <= day) and (valid_to is None or day <= valid_to)


@attrs.frozen
class Station:
    """One loudspeaker station (đài truyền thanh) of a district centre or a commune."""

    code: str
    name: str
    level: StationLevel
    admin_code: str = attrs.field(converter=canonical_code)
    district_code: str = attrs.field(converter=canonical_code)
    listeners: int
    ip_connected: bool = False
    contact: str = ""
    valid_from: pendulum.Date | None = None
    valid_to: pendulum.Date | None = None
    window: TimeWindow | None = None
    languages: tuple[str, ...] = ("vi",)

    def valid_on(self, day: dt.date) -> bool:
        return _in(self.valid_from, self.valid_to, day)


_TRUE = {"1", "true", "yes", "y", "x", "có", "co", "ip"}
_FALSE = {"", "0", "false", "no", "n", "không", "khong"}


def _bool(text: str) -> bool:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no (expected 1/0, true/false, yes/no, có/không)")


class StationRegistry:
    """The stations of a campaign, found by operator code or by administrative code."""

    def __init__(self, stations: Iterable[Station] = (), regions: RegionRegistry | None = None) -> None:
        self._stations: list[Station] = []
        self._by_code: dict[str, Station] = {}
        self._by_admin: dict[str, list[Station]] = {}
        self._regions = regions if regions is not None else RegionRegistry()
        for station in stations:
            self.add(station)

    @property
    def regions(self) -> RegionRegistry:
        """The administrative units the stations serve, for their names; empty unless given."""
        return self._regions

    def use_regions(self, regions: RegionRegistry) -> None:
        """Take unit names from ``regions`` (the campaign's), e.g. for run-sheets."""
        self._regions = regions

    def unit_name(self, code: str, on: dt.date | None = None) -> str:
        """The name of administrative unit ``code`` (valid ``on``), or ``""`` when unknown."""
        if not code:
            return ""
        day = None if on is None else pendulum.Date(on.year, on.month, on.day)
        try:
            return self._regions.get(code, on=day).name
        except (KeyError, ValueError):
            return ""

    def add(self, station: Station) -> None:
        if station.code in self._by_code:
            raise ValueError(f"station code {station.code!r} is used twice")
        for other in self._by_admin.get(station.admin_code, []):
            lo, hi = pendulum.Date(1, 1, 1), pendulum.Date(9999, 12, 31)
            if (other.valid_from or lo) <= (station.valid_to or hi) and (station.valid_from or lo) <= (
                other.valid_to or hi
            ):
                raise ValueError(
                    f"administrative code {station.admin_code} already has station {other.code} over overlapping dates"
                )
        self._stations.append(station)
        self._by_code[station.code] = station
        self._by_admin.setdefault(station.admin_code, []).append(station)

    def __iter__(self) -> Iterator[Station]:
        return iter(self._stations)

    def __len__(self) -> int:
        return len(self._stations)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.find(code) is not None

    def find(self, code: str, on: dt.date | None = None) -> Station | None:
        """The station with this operator code, or serving this administrative code (on ``on``)."""
        text = code.strip()
        station = self._by_code.get(text)
        if station is not None:
            return station
        if text.isdigit():
            for candidate in self._by_admin.get(canonical_code(text), []):
                if on is None or candidate.valid_on(on):
                    return candidate
        return None

    def get(self, code: str, on: dt.date | None = None) -> Station:
        station = self.find(code, on)
        if station is None:
            raise KeyError(f"no station {code!r}" + (f" valid on {on}" if on else ""))
        return station

    def at_level(self, level: StationLevel) -> list[Station]:
        return [s for s in self._stations if s.level is level]

    def in_district(self, district_code: str) -> list[Station]:
        code = canonical_code(district_code)
        return [s for s in self._stations if s.district_code == code]

    def district_codes(self) -> list[str]:
        return sorted({s.district_code for s in self._stations}, key=int)

    def counts(self) -> dict[str, int]:
        return {level.value: len(self.at_level(level)) for level in StationLevel}

    @classmethod
    def from_csv(cls, path: Path, regions: RegionRegistry | None = None) -> StationRegistry:
        """Read the stations file (see docs/broadcasting.md); check codes against ``regions``
        and name the units from them."""
        registry = cls(regions=regions)
        source = str(path)
        problems: list[DataError] = []
        for line, row in read_rows(path, STATION_COLUMNS, STATION_OPTIONAL, problems=problems):
            column = "code"
            try:
                column = "code"
                code = row["code"]
                if not code:
                    raise ValueError("station code is empty")
                column = "name"
                if not row["name"]:
                    raise ValueError("name is empty")
                column = "level"
                level = StationLevel(Level.parse(row["level"]).value)
                column = "admin_code"
                admin = canonical_code(row["admin_code"])
                column = "district_code"
                district = canonical_code(row["district_code"])
                if level is StationLevel.DISTRICT and district != admin:
                    raise ValueError(f"a district station's district_code must be its own admin_code {admin}")
                column = "listeners"
                listeners = int(row["listeners"]) if row["listeners"].isdigit() else -1
                if listeners < 0:
                    raise ValueError(f"{row['listeners']!r} is not a number of listeners (expected 0 or more)")
                column = "ip_connected"
                ip = _bool(row.get("ip_connected", ""))
                column = "valid_from"
                valid_from = parse_date(row["valid_from"]) if row.get("valid_from") else None
                column = "valid_to"
                valid_to = parse_date(row["valid_to"]) if row.get("valid_to") else None
                if valid_from and valid_to and valid_to < valid_from:
                    raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")
                column = "window"
                window = TimeWindow.parse(row["window"]) if row.get("window") else None
                column = "languages"
                langs = tuple(parse_language(p) for p in (row.get("languages") or "vi").split(";") if p.strip())
                station = Station(
                    code=code,
                    name=row["name"],
                    level=level,
                    admin_code=admin,
                    district_code=district,
                    listeners=listeners,
                    ip_connected=ip,
                    contact=row.get("contact", ""),
                    valid_from=valid_from,
                    valid_to=valid_to,
                    window=window,
                    languages=langs or ("vi",),
                )
                if regions is not None and len(regions):
                    column = "admin_code"
                    check_region(station, regions)
                column = "code"
                registry.add(station)
            except ValueError as exc:
                problems.append(DataError(str(exc), source=source, line=line, column=column,
                                          value=row.get(column)))
        raise_problems(problems)
        return registry


def check_region(station: Station, regions: RegionRegistry) -> None:
    on = station.valid_from
    try:
        region = regions.get(station.admin_code, on=on)
    except KeyError:
        raise ValueError(
            f"{station.admin_code} is not an administrative unit of the campaign's regions"
            + (f" on {on}" if on else "")
        ) from None
    if region.level.value != station.level.value:
        raise ValueError(
            f"unit {region.code} ({region.name}) is a {region.level.value}, "
            f"but the station is a {station.level.value} station"
        )
    if station.level is StationLevel.COMMUNE and region.parent_code != station.district_code:
        raise ValueError(
            f"unit {region.code} ({region.name}) belongs to district {region.parent_code}, not {station.district_code}"
        )


@attrs.frozen
class StationException:
    """A per-station change: off the air from ``start`` to ``end``, or airing in another ``window``."""

    station: str
    start: pendulum.Date
    end: pendulum.Date
    reason: str
    window: TimeWindow | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


EXCEPTION_COLUMNS = ("station", "start", "end", "reason")


def read_exceptions(path: Path, stations: StationRegistry) -> list[StationException]:
    """Read ``station,start,end,reason[,window]``; an empty window means off the air."""
    result: list[StationException] = []
    source = str(path)
    for line, row in read_rows(path, EXCEPTION_COLUMNS, ("window",)):
        column = "station"
        try:
            station = stations.find(row["station"])
            if station is None:
                raise ValueError(f"{row['station']!r} is not a station of this campaign")
            column = "start"
            start = parse_date(row["start"])
            column = "end"
            end = parse_date(row["end"]) if row["end"] else start
            if end < start:
                raise ValueError(f"end {end} is before start {start}")
            column = "reason"
            if not row["reason"]:
                raise ValueError("say why (the reason is reported with every airing it changes)")
            column = "window"
            window = TimeWindow.parse(row["window"]) if row.get("window") else None
        except ValueError as exc:
            raise DataError(str(exc), source=source, line=line, column=column, value=row.get(column)) from None
        result.append(StationException(station.code, start, end, row["reason"], window))
    return result
