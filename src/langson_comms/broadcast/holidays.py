"""Public holidays and what a schedule does on them.

The dates come from the ``holidays`` package (Vietnam: Labour Code 2019, lunar dates
included); operators add one-off days (a decided bridge day, a local festival) and may
remove a date.  Names are in Vietnamese because they go on the printed sheets.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping

import attrs
import holidays as holidays_lib

__all__ = ["HolidayCalendar", "HolidayRule"]


class HolidayRule(enum.StrEnum):
    """``air``: air as planned; ``skip``: drop the airing; ``next_allowed_day``: move it."""

    AIR = "air"
    SKIP = "skip"
    NEXT_ALLOWED_DAY = "next_allowed_day"

    @classmethod
    def parse(cls, value: object) -> HolidayRule:
        try:
            return cls(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a holiday rule (expected air, skip or next_allowed_day)") from None


@attrs.frozen
class HolidayCalendar:
    """Holidays of ``country`` in ``years``, plus ``additions`` and minus ``removals``."""

    days: Mapping[dt.date, str]

    @classmethod
    def build(
        cls,
        years: Iterable[int],
        *,
        country: str | None = "VN",
        additions: Mapping[dt.date, str] | None = None,
        removals: Iterable[dt.date] = (),
        language: str = "vi",
    ) -> HolidayCalendar:
        days: dict[dt.date, str] = {}
        if country:
            try:
                found = holidays_lib.country_holidays(country, years=sorted(set(years)), language=language)
            except NotImplementedError:
                raise ValueError(f"the holidays package knows no country {country!r}") from None
            days.update({dt.date(d.year, d.month, d.day): str(n) for d, n in found.items()})
        for day in removals:
            days.pop(dt.date(day.year, day.month, day.day), None)
        for day, name in (additions or {}).items():
            days[dt.date(day.year, day.month, day.day)] = name
        return cls(days=dict(sorted(days.items())))

    @classmethod
    def none(cls) -> HolidayCalendar:
        return cls(days={})

    def name(self, day: dt.date) -> str | None:
        return self.days.get(dt.date(day.year, day.month, day.day))

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.name(day) is not None
