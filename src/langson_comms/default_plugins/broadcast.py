"""The built-in ``broadcast`` channel and the ``weekly_rotation`` scheduler.

Written as a third party would write it: the channel structures its table of the
campaign file with ``ConfigContext.structure`` (located errors), reads the stations and
sketches files named there, and passes the keys it does not know to the scheduler
plugin named by ``scheduler`` — so ``weekdays`` and ``airings_per_week`` belong to
``weekly_rotation``, and a misspelled key is reported by whichever side should own it.
See docs/broadcasting.md for every key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

import attrs
import pendulum

from langson_comms import hookimpl
from langson_comms.activity.contract import ActivityChannel
from langson_comms.activity.stored import broadcast_reach
from langson_comms.broadcast.asrun import AsRunStore, ConfirmationChecker
from langson_comms.broadcast.holidays import HolidayCalendar, HolidayRule
from langson_comms.broadcast.rotation import WeeklyRotationScheduler
from langson_comms.broadcast.scheduler import (
    BroadcastScheduler,
    Bulletin,
    Priority,
    Schedule,
    ScheduleRequest,
)
from langson_comms.broadcast.sketches import SketchCatalogue
from langson_comms.broadcast.stations import (
    StationException,
    StationLevel,
    StationRegistry,
    TimeWindow,
    check_region,
    read_exceptions,
)
from langson_comms.campaign import Campaign, Period
from langson_comms.config import ConfigContext
from langson_comms.errors import DataError, PluginError, ScheduleError
from langson_comms.reach import ReachRecord
from langson_comms.registry import Registry
from langson_comms.store_url import sqlite_store_path

__all__ = ["BroadcastChannel"]

T = TypeVar("T")


@attrs.frozen
class _Window:
    start: dt.time
    end: dt.time


@attrs.frozen
class _Expected:
    district: int | None = None
    commune: int | None = None


@attrs.frozen
class _HolidayAddition:
    date: pendulum.Date
    name: str


@attrs.frozen
class _BulletinSection:
    id: str
    title: str
    priority: str
    date: pendulum.Date
    seconds: float
    stations: list[str] = attrs.field(factory=lambda: ["all"])
    time: dt.time | None = None


@attrs.frozen
class _Section:
    stations: str
    sketches: str
    start: pendulum.Date
    end: pendulum.Date
    window: _Window
    scheduler: str = "weekly_rotation"
    max_sketch_seconds: float = 60.0
    expected_stations: _Expected | None = None
    holiday_rule: str = "air"
    holiday_country: str = "VN"
    holidays_add: list[_HolidayAddition] = attrs.field(factory=list)
    holidays_remove: list[pendulum.Date] = attrs.field(factory=list)
    exceptions: str | None = None
    bulletins: list[_BulletinSection] = attrs.field(factory=list)
    gap_seconds: float = 0.0
    grace_days: int = 3
    store: str = ".langson/broadcast.sqlite"
    secrets: str | None = None
    owner: str = ""


_OWN_KEYS = frozenset(f.name for f in attrs.fields(_Section))


@attrs.frozen
class BroadcastChannel(ActivityChannel):
    """Loudspeaker airings at district and commune stations (see docs/broadcasting.md)."""

    name: ClassVar[str] = "broadcast"

    stations: StationRegistry = attrs.field(eq=False)
    sketches: SketchCatalogue = attrs.field(eq=False)
    start: pendulum.Date
    end: pendulum.Date
    window: TimeWindow
    scheduler_name: str
    scheduler_config: Mapping[str, Any]
    context: ConfigContext
    holidays: HolidayCalendar
    holiday_rule: HolidayRule = HolidayRule.AIR
    exceptions: tuple[StationException, ...] = ()
    bulletins: tuple[Bulletin, ...] = ()
    gap_seconds: float = 0.0
    grace_days: int = 3
    store_path: Path = Path(".langson/broadcast.sqlite")
    secrets_path: Path | None = None
    owner: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        own = {k: v for k, v in config.items() if k in _OWN_KEYS}
        rest = {k: v for k, v in config.items() if k not in _OWN_KEYS}
        section = context.structure(own, _Section)
        if section.end < section.start:
            raise context.error(f"end {section.end} is before start {section.start}", "end")
        try:
            window = TimeWindow(section.window.start, section.window.end)
        except ValueError as exc:
            raise context.error(str(exc), "window") from None
        try:
            holiday_rule = HolidayRule.parse(section.holiday_rule)
        except ValueError as exc:
            raise context.error(str(exc), "holiday_rule") from None
        if section.max_sketch_seconds <= 0:
            raise context.error("must be more than 0 seconds", "max_sketch_seconds")
        if section.grace_days < 0:
            raise context.error("must be 0 or more days", "grace_days")

        stations = _load(context, "stations", section.stations, lambda p: StationRegistry.from_csv(p))
        if section.expected_stations is not None:
            counts = stations.counts()
            for level in StationLevel:
                want = getattr(section.expected_stations, level.value)
                if want is not None and counts[level.value] != want:
                    raise context.error(
                        f"{section.stations} lists {counts[level.value]} {level.value} station(s), expected {want}",
                        f"expected_stations.{level.value}",
                    )
        sketches = _load(
            context,
            "sketches",
            section.sketches,
            lambda p: SketchCatalogue.from_csv(p, max_seconds=section.max_sketch_seconds),
        )
        exceptions: list[StationException] = []
        if section.exceptions is not None:
            exceptions = _load(context, "exceptions", section.exceptions, lambda p: read_exceptions(p, stations))
        years = range(section.start.year, section.end.year + 1)
        try:
            holidays = HolidayCalendar.build(
                years,
                country=section.holiday_country or None,
                additions={h.date: h.name for h in section.holidays_add},
                removals=section.holidays_remove,
            )
        except ValueError as exc:
            raise context.error(str(exc), "holiday_country") from None
        bulletins = []
        for i, b in enumerate(section.bulletins):
            where = f"bulletins[{i}]"
            if not section.start <= b.date <= section.end:
                raise context.error(f"{b.date} is outside {section.start}..{section.end}", f"{where}.date")
            if b.seconds <= 0:
                raise context.error("must be more than 0 seconds", f"{where}.seconds")
            try:
                priority = Priority.parse(b.priority)
            except ValueError as exc:
                raise context.error(str(exc), f"{where}.priority") from None
            try:
                bulletins.append(Bulletin(b.id, b.title, priority, b.date, b.seconds, tuple(b.stations), b.time))
            except ValueError as exc:
                raise context.error(str(exc), f"{where}.time") from None
        channel = cls(
            stations=stations,
            sketches=sketches,
            start=section.start,
            end=section.end,
            window=window,
            scheduler_name=section.scheduler,
            scheduler_config=rest,
            context=context,
            holidays=holidays,
            holiday_rule=holiday_rule,
            exceptions=tuple(exceptions),
            bulletins=tuple(bulletins),
            gap_seconds=section.gap_seconds,
            grace_days=section.grace_days,
            store_path=sqlite_store_path(section.store, context, "store", "as-run store"),
            secrets_path=_relative(context, section.secrets) if section.secrets else None,
            owner=section.owner,
        )
        if context.registry is not None:
            channel.scheduler(context.registry)  # the scheduler's keys are checked at load time too
        return channel

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        """The airing period lies in the campaign's; stations serve units of its regions."""
        if self.start < campaign.period.start or self.end > campaign.period.end:
            raise context.error(
                f"{self.start}..{self.end} is not within the campaign period "
                f"{campaign.period.start}..{campaign.period.end}",
                "start",
            )
        if len(campaign.regions):
            for station in self.stations:
                try:
                    check_region(station, campaign.regions)
                except ValueError as exc:
                    raise context.error(f"station {station.code}: {exc}", "stations") from None
            self.stations.use_regions(campaign.regions)  # run-sheets name districts and communes

    # --- running -------------------------------------------------------------------------

    def scheduler(self, registry: Registry) -> BroadcastScheduler:
        """Build the scheduler plugin named by ``scheduler`` from the table's other keys."""
        try:
            cls = registry.get("broadcast_scheduler", self.scheduler_name)
        except PluginError as exc:
            raise self.context.error(str(exc), "scheduler") from None
        built = cls.from_config(dict(self.scheduler_config), self.context)
        if not isinstance(built, BroadcastScheduler):
            raise PluginError(f"scheduler {self.scheduler_name!r} is not a BroadcastScheduler subclass")
        return built

    def request(self, bulletins: Sequence[Bulletin] = ()) -> ScheduleRequest:
        return ScheduleRequest(
            stations=list(self.stations),
            sketches=list(self.sketches),
            start=self.start,
            end=self.end,
            window=self.window,
            holidays=self.holidays,
            holiday_rule=self.holiday_rule,
            exceptions=self.exceptions,
            bulletins=[*self.bulletins, *bulletins],
            gap_seconds=self.gap_seconds,
        )

    def schedule(self, registry: Registry, bulletins: Sequence[Bulletin] = ()) -> Schedule:
        """The whole plan, with the configured bulletins and any extra ``bulletins``."""
        return self.scheduler(registry).schedule(self.request(bulletins))

    def store(self, path: Path | None = None) -> AsRunStore:
        """The as-run store (SQLite) at ``path`` or the configured ``store``."""
        return AsRunStore(path or self.store_path)

    def checker(self, schedule: Schedule, today: dt.date | None = None) -> ConfirmationChecker:
        items = [s.id for s in self.sketches] + [b.id for b in self.bulletins]
        return ConfirmationChecker(schedule, self.stations, items=items, today=today)

    def stored_reach(self, key: str, campaign: Campaign, period: Period) -> Iterator[ReachRecord]:
        """Confirmed sketch airings × the station's listeners (activity contract)."""
        return broadcast_reach(self, key, campaign, period)

    def describe(self) -> str:
        counts = self.stations.counts()
        return (
            f"{counts['district']} district + {counts['commune']} commune stations, "
            f"{len(self.sketches)} sketches, {self.start}..{self.end}, {self.scheduler_name}"
        )


def _relative(context: ConfigContext, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else context.base_dir / path


def _load(context: ConfigContext, key: str, value: str, read: Callable[[Path], T]) -> T:
    """Read a data file named in the table; its problems become located config errors."""
    path = context.resolve_file(value, key)
    try:
        return read(path)
    except (DataError, ScheduleError) as exc:
        raise context.error(str(exc), key) from None


@hookimpl
def register_channels() -> list[type[Any]]:
    return [BroadcastChannel]


@hookimpl
def register_broadcast_schedulers() -> list[type[Any]]:
    return [WeeklyRotationScheduler]
