"""The built-in weekly rotation scheduler (``weekly_rotation``).

On each configured weekday a station airs ``airings_per_week / len(weekdays)`` sketches
in its local window, one after another from the window's start.  Each station cycles
through the sketches in its languages in catalogue order, starting at an offset given by
its position, so neighbouring stations air different sketches on the same day and each
station airs every sketch equally often, within one airing.  A sketch joins the
rotation on its due date.

Holidays follow the request's rule: ``air``; ``skip``; or ``next_allowed_day`` — the
airing moves to the station's next configured weekday that is not a holiday and on
which it is on the air (it then airs after that day's own airings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import attrs
import pendulum

from ..clock import local_tz
from ..config import ConfigContext, Weekday
from ..errors import ScheduleError
from .holidays import HolidayRule
from .scheduler import (
    Airing,
    BroadcastScheduler,
    RegularPlan,
    ScheduleRequest,
    Skip,
    SkipReason,
)
from .sketches import Sketch
from .stations import Station, TimeWindow

__all__ = ["WeeklyRotationScheduler"]


@attrs.frozen
class _RotationConfig:
    weekdays: list[Weekday]
    airings_per_week: int | None = None


@attrs.frozen
class WeeklyRotationScheduler(BroadcastScheduler):
    """Airs sketches in rotation on fixed weekdays (see the module doc)."""

    name: ClassVar[str] = "weekly_rotation"
    weekdays: tuple[Weekday, ...]
    airings_per_day: int = 1

    @property
    def airings_per_week(self) -> int:
        return self.airings_per_day * len(self.weekdays)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        raw = context.structure(config, _RotationConfig)
        if not raw.weekdays:
            raise context.error("name at least one weekday", "weekdays")
        seen: set[Weekday] = set()
        for i, day in enumerate(raw.weekdays):
            if day in seen:
                raise context.error(f"{day.name.lower()} is listed twice", f"weekdays[{i}]")
            seen.add(day)
        per_week = raw.airings_per_week if raw.airings_per_week is not None else len(raw.weekdays)
        if per_week < 1 or per_week % len(raw.weekdays):
            raise context.error(
                f"{per_week} airings a week cannot be spread evenly over {len(raw.weekdays)} "
                f"weekday(s) (expected a positive multiple of {len(raw.weekdays)})",
                "airings_per_week",
            )
        return cls(weekdays=tuple(raw.weekdays), airings_per_day=per_week // len(raw.weekdays))

    def plan(self, request: ScheduleRequest) -> RegularPlan:
        wanted = {int(d) for d in self.weekdays}
        days = [d for d in request.days() if d.isoweekday() in wanted]
        airings: list[Airing] = []
        skipped: list[Skip] = []
        starts = _StartCache()
        for index, station in enumerate(request.stations):
            sketches = [s for s in request.sketches if s.language in station.languages]
            rotation = _Rotation(sketches, offset=index)
            carried: list[tuple[pendulum.Date, str]] = []
            for day in days:
                slots: list[tuple[pendulum.Date | None, str]] = []
                if not station.valid_on(day):
                    skipped += [Skip(station.code, day, SkipReason.NOT_IN_SERVICE)] * self.airings_per_day
                    continue
                window = request.window_for(station, day)
                if window is None:
                    exc = request.exception_on(station, day)
                    detail = exc.reason if exc else ""
                    skipped += [Skip(station.code, day, SkipReason.EXCEPTION, detail)] * self.airings_per_day
                    continue
                holiday = request.holidays.name(day)
                if holiday is None:
                    slots += [(None, "")] * self.airings_per_day
                    slots += [(moved, f"dời từ {moved:%d/%m} ({why})") for moved, why in carried]
                    carried = []
                elif request.holiday_rule is HolidayRule.AIR:
                    slots += [(None, f"ngày lễ: {holiday}")] * self.airings_per_day
                elif request.holiday_rule is HolidayRule.SKIP:
                    skipped += [Skip(station.code, day, SkipReason.HOLIDAY, holiday)] * self.airings_per_day
                else:
                    carried += [(day, holiday)] * self.airings_per_day
                    # Carried airings keep waiting: a holiday is no allowed day.
                airings += self._lay(station, day, window, slots, rotation, starts, request, skipped)
            for moved, why in carried:
                skipped.append(
                    Skip(station.code, moved, SkipReason.NO_DAY_LEFT, f"{why}: no allowed day left in the plan")
                )
        return RegularPlan(airings=airings, skipped=skipped)

    def _lay(
        self,
        station: Station,
        day: pendulum.Date,
        window: TimeWindow,
        slots: list[tuple[pendulum.Date | None, str]],
        rotation: _Rotation,
        starts: _StartCache,
        request: ScheduleRequest,
        skipped: list[Skip],
    ) -> list[Airing]:
        result = []
        offset = 0.0
        for moved_from, note in slots:
            sketch = rotation.next(day)
            if sketch is None:
                why = f"no sketch in {'/'.join(station.languages)} is due yet"
                skipped.append(Skip(station.code, day, SkipReason.NO_SKETCH, why))
                continue
            start = starts.get(day, window.start, offset)
            if offset + sketch.seconds > window.seconds:
                raise ScheduleError(
                    f"station {station.code} on {day}: {len(slots)} airing(s) do not fit in its window {window}"
                )
            result.append(
                Airing(
                    station=station.code,
                    day=day,
                    start=start,
                    seconds=sketch.seconds,
                    item=sketch.id,
                    title=sketch.title,
                    window=window,
                    moved_from=moved_from,
                    note=note,
                )
            )
            offset += sketch.seconds + request.gap_seconds
        return result


class _Rotation:
    """Round robin over the sketches eligible on a day, from a per-station offset."""

    def __init__(self, sketches: list[Sketch], offset: int) -> None:
        self._sketches = sketches
        self._offset = offset
        self._count = 0

    def next(self, day: dt.date) -> Sketch | None:
        ready = [s for s in self._sketches if s.eligible_from is None or s.eligible_from <= day]
        if not ready:
            return None
        sketch = ready[(self._count + self._offset) % len(ready)]
        self._count += 1
        return sketch


class _StartCache:
    """Aware local start instants, made once per (day, time): pendulum is slow to build them."""

    def __init__(self) -> None:
        self._tz = local_tz()
        self._cache: dict[tuple[dt.date, dt.time, float], pendulum.DateTime] = {}

    def get(self, day: dt.date, time: dt.time, offset: float = 0.0) -> pendulum.DateTime:
        key = (day, time, offset)
        found = self._cache.get(key)
        if found is None:
            found = pendulum.datetime(day.year, day.month, day.day, time.hour, time.minute, tz=self._tz)
            if offset:
                found = found + dt.timedelta(seconds=offset)
            self._cache[key] = found
        return found
