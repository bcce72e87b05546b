"""What a broadcast scheduler is, what it produces, and the bulletin rules all share.

A scheduler plugin (hook ``register_broadcast_schedulers``) subclasses
``BroadcastScheduler`` and implements one verb, ``plan``: stations, sketches and the
calendar in, regular sketch airings (and every airing it left out, with the reason)
out.  ``schedule`` then applies the bulletin priorities of Circular 39/2020/TT-BTTTT,
which are law, not a scheduling style, so every scheduler gets them the same way:

* **normal** — the station picks the slot: appended after the day's programme;
* **priority** — first in the programme: placed at the window's start, the rest moves later;
* **emergency** — played at once, at its given time, whatever the window: every airing
  it overlaps is displaced (removed) and reported as a ``Displacement``.
"""

from __future__ import annotations

import abc
import datetime as dt
import enum
import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import attrs
import pendulum

from ..clock import local_tz
from ..config import ConfigContext
from ..errors import ScheduleError
from .holidays import HolidayCalendar, HolidayRule
from .sketches import Sketch
from .stations import Station, StationException, TimeWindow

__all__ = [
    "Airing",
    "BroadcastScheduler",
    "Bulletin",
    "Displacement",
    "ItemKind",
    "Priority",
    "RegularPlan",
    "Schedule",
    "ScheduleRequest",
    "Skip",
    "SkipReason",
]


class Priority(enum.StrEnum):
    """Bulletin priorities of Circular 39/2020/TT-BTTTT (sketches air as ``normal``)."""

    NORMAL = "normal"
    PRIORITY = "priority"
    EMERGENCY = "emergency"

    @classmethod
    def parse(cls, value: object) -> Priority:
        try:
            return cls(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a priority (expected normal, priority or emergency)") from None


class ItemKind(enum.StrEnum):
    SKETCH = "sketch"
    BULLETIN = "bulletin"


@attrs.frozen
class Airing:
    """One planned airing of a sketch or bulletin at one station."""

    station: str
    day: pendulum.Date
    start: pendulum.DateTime
    seconds: float
    item: str
    title: str
    kind: ItemKind = ItemKind.SKETCH
    priority: Priority = Priority.NORMAL
    window: TimeWindow | None = None
    moved_from: pendulum.Date | None = None
    note: str = ""

    @property
    def end(self) -> pendulum.DateTime:
        return self.start + dt.timedelta(seconds=self.seconds)

    @property
    def uid(self) -> str:
        """Stable across runs of the same plan: item, station and start."""
        return f"{self.item}.{self.station}.{self.start:%Y%m%dT%H%M%S}@langson-comms"

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end


class SkipReason(enum.StrEnum):
    HOLIDAY = "holiday"
    EXCEPTION = "exception"
    NOT_IN_SERVICE = "not_in_service"
    NO_SKETCH = "no_sketch"
    NO_DAY_LEFT = "no_day_left"


@attrs.frozen
class Skip:
    """A slot the plan left empty on purpose, and why."""

    station: str
    day: pendulum.Date
    reason: SkipReason
    detail: str = ""


@attrs.frozen
class Displacement:
    """A planned airing removed by an emergency bulletin."""

    airing: Airing
    by: Airing


@attrs.frozen
class Bulletin:
    """A bulletin for some stations on one day.

    ``stations`` holds station codes, administrative codes, district codes (every
    station of that district) or ``"all"``.  ``time`` is required for an emergency
    (it airs then); for the others it is ignored.
    """

    id: str
    title: str
    priority: Priority
    day: pendulum.Date
    seconds: float
    stations: tuple[str, ...] = ("all",)
    time: dt.time | None = None

    def __attrs_post_init__(self) -> None:
        if self.priority is Priority.EMERGENCY and self.time is None:
            raise ValueError(f"emergency bulletin {self.id!r} needs a time (it airs at once)")


def _holiday_rule(value: object) -> HolidayRule:
    return HolidayRule.parse(value)


@attrs.frozen
class ScheduleRequest:
    """Everything a scheduler plans from."""

    stations: Sequence[Station]
    sketches: Sequence[Sketch]
    start: pendulum.Date
    end: pendulum.Date
    window: TimeWindow
    holidays: HolidayCalendar = attrs.field(factory=HolidayCalendar.none)
    holiday_rule: HolidayRule = attrs.field(default=HolidayRule.AIR, converter=_holiday_rule)
    exceptions: Sequence[StationException] = ()
    bulletins: Sequence[Bulletin] = ()
    gap_seconds: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ScheduleError(f"the period ends ({self.end}) before it starts ({self.start})")

    def days(self) -> list[pendulum.Date]:
        count = (self.end - self.start).days + 1
        return [self.start.add(days=i) for i in range(count)]

    @functools.cached_property
    def exceptions_by_station(self) -> Mapping[str, list[StationException]]:
        result: dict[str, list[StationException]] = {}
        for exc in self.exceptions:
            result.setdefault(exc.station, []).append(exc)
        return result

    def exception_on(self, station: Station, day: dt.date) -> StationException | None:
        for exc in self.exceptions_by_station.get(station.code, ()):
            if exc.covers(day):
                return exc
        return None

    def window_for(self, station: Station, day: dt.date) -> TimeWindow | None:
        """The station's window that day, or None when an exception takes it off the air."""
        exc = self.exception_on(station, day)
        if exc is not None:
            return exc.window
        return station.window or self.window


@attrs.frozen
class RegularPlan:
    """What ``plan`` returns: sketch airings and the slots left empty."""

    airings: list[Airing]
    skipped: list[Skip] = attrs.field(factory=list)


@attrs.frozen
class Schedule:
    """A whole plan: airings in (station, start) order, skips and displacements."""

    scheduler: str
    start: pendulum.Date
    end: pendulum.Date
    airings: tuple[Airing, ...]
    skipped: tuple[Skip, ...] = ()
    displaced: tuple[Displacement, ...] = ()

    @functools.cached_property
    def by_station(self) -> Mapping[str, tuple[Airing, ...]]:
        result: dict[str, list[Airing]] = {}
        for airing in self.airings:
            result.setdefault(airing.station, []).append(airing)
        return {k: tuple(v) for k, v in result.items()}

    def for_station(self, code: str) -> tuple[Airing, ...]:
        return self.by_station.get(code, ())

    def sketch_airings(self) -> list[Airing]:
        return [a for a in self.airings if a.kind is ItemKind.SKETCH]

    def sketch_counts(self, station: str) -> Counter[str]:
        return Counter(a.item for a in self.for_station(station) if a.kind is ItemKind.SKETCH)

    def on(self, station: str, day: dt.date) -> list[Airing]:
        return [a for a in self.for_station(station) if a.day == day]


class BroadcastScheduler(abc.ABC):
    """Base of scheduler plugins: implement ``from_config`` and ``plan``."""

    name: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        """Build from the scheduler's keys of the ``[channels.<key>]`` table."""

    @abc.abstractmethod
    def plan(self, request: ScheduleRequest) -> RegularPlan:
        """Regular sketch airings for every station, and every slot left empty with its reason."""

    def schedule(self, request: ScheduleRequest) -> Schedule:
        """``plan``, then the Circular 39 bulletins; the result is sorted by station and time."""
        regular = self.plan(request)
        airings, displaced = apply_bulletins(regular.airings, request)
        order = {s.code: i for i, s in enumerate(request.stations)}
        airings.sort(key=lambda a: (order.get(a.station, len(order)), a.start))
        return Schedule(
            scheduler=self.name,
            start=request.start,
            end=request.end,
            airings=tuple(airings),
            skipped=tuple(regular.skipped),
            displaced=tuple(displaced),
        )


# --- bulletins ----------------------------------------------------------------------------


def bulletin_stations(bulletin: Bulletin, stations: Sequence[Station]) -> list[Station]:
    """The stations a bulletin targets; ``ScheduleError`` for a target that matches none."""
    chosen: dict[str, Station] = {}
    for target in bulletin.stations:
        matched = [
            s
            for s in stations
            if target == "all"
            or target in (s.code, s.admin_code)
            or (target.isdigit() and str(int(target)) in (s.admin_code, s.district_code))
        ]
        if not matched:
            raise ScheduleError(f"bulletin {bulletin.id!r}: {target!r} is no station, administrative or district code")
        for s in matched:
            chosen.setdefault(s.code, s)
    return [s for s in stations if s.code in chosen]


def _at(day: dt.date, time: dt.time) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, time.hour, time.minute, time.second, tz=local_tz())


def apply_bulletins(airings: Iterable[Airing], request: ScheduleRequest) -> tuple[list[Airing], list[Displacement]]:
    """Insert the request's bulletins into ``airings`` by priority (see the module doc)."""
    result = list(airings)
    if not request.bulletins:
        return result, []
    displaced: list[Displacement] = []
    gap = dt.timedelta(seconds=request.gap_seconds)
    order = {Priority.EMERGENCY: 0, Priority.PRIORITY: 1, Priority.NORMAL: 2}
    programme: dict[tuple[str, dt.date], list[Airing]] = {}
    for a in result:
        programme.setdefault((a.station, a.day), []).append(a)
    for bulletin in sorted(request.bulletins, key=lambda b: (b.day, order[b.priority], b.id)):
        if not request.start <= bulletin.day <= request.end:
            raise ScheduleError(
                f"bulletin {bulletin.id!r} is on {bulletin.day}, outside the plan {request.start}..{request.end}"
            )
        for station in bulletin_stations(bulletin, request.stations):
            day_items = programme.get((station.code, bulletin.day), [])
            window = request.window_for(station, bulletin.day)
            make = functools.partial(
                Airing,
                station=station.code,
                day=bulletin.day,
                seconds=bulletin.seconds,
                item=bulletin.id,
                title=bulletin.title,
                kind=ItemKind.BULLETIN,
                priority=bulletin.priority,
                window=window,
            )
            if bulletin.priority is Priority.EMERGENCY:
                assert bulletin.time is not None
                new = make(start=_at(bulletin.day, bulletin.time))
                kept = []
                for a in day_items:
                    if a.overlaps(new.start, new.end):
                        displaced.append(Displacement(airing=a, by=new))
                    else:
                        kept.append(a)
                day_items = [*kept, new]
            else:
                if window is None:
                    raise ScheduleError(
                        f"bulletin {bulletin.id!r}: station {station.code} is off the air on "
                        f"{bulletin.day} (station exception)"
                    )
                day_items = _relay(day_items, make(start=_at(bulletin.day, window.start)), window, gap)
            programme[(station.code, bulletin.day)] = day_items
    return [a for items in programme.values() for a in items], displaced


def _relay(day_items: list[Airing], new: Airing, window: TimeWindow, gap: dt.timedelta) -> list[Airing]:
    """Lay the day's programme again: priority items first, then the rest in order, normal last."""
    fixed = [a for a in day_items if a.priority is Priority.EMERGENCY]
    movable = sorted((a for a in day_items if a.priority is not Priority.EMERGENCY), key=lambda a: a.start)
    firsts = [a for a in movable if a.priority is Priority.PRIORITY]
    rest = [a for a in movable if a.priority is not Priority.PRIORITY]
    if new.priority is Priority.PRIORITY:
        firsts.append(new)
    else:
        rest.append(new)
    laid: list[Airing] = []
    cursor = new.start  # the window's start that day
    limit = _at(new.day, window.end)
    for a in [*firsts, *rest]:
        start = cursor if a is new or a.priority is Priority.PRIORITY else max(cursor, a.start)
        if a is new and a.priority is Priority.NORMAL:
            start = cursor
        for e in fixed:  # step over emergencies already in place
            if e.overlaps(start, start + dt.timedelta(seconds=a.seconds)):
                start = e.end + gap
        item = a if start == a.start else attrs.evolve(a, start=start)
        if item.end > limit:
            raise ScheduleError(
                f"station {a.station} on {a.day}: {a.item!r} would end at {item.end:%H:%M:%S}, "
                f"after its window {window}"
            )
        laid.append(item)
        cursor = item.end + gap
    return [*fixed, *laid]
