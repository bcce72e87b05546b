"""Grassroots loudspeaker broadcasting (hệ thống truyền thanh cơ sở).

Stations and sketches are read from CSV; a scheduler plugin turns them into airings;
exports write calendars, run-sheets and printable weekly sheets; as-run confirmations
(typed-in CSV or the HTTP endpoint for IP stations) are kept in SQLite and compared
with the plan to give compliance and reach.  See docs/broadcasting.md.
"""

from __future__ import annotations

from .holidays import HolidayCalendar, HolidayRule
from .scheduler import (
    Airing,
    BroadcastScheduler,
    Bulletin,
    Displacement,
    Priority,
    Schedule,
    ScheduleRequest,
    Skip,
)
from .sketches import Sketch, SketchCatalogue
from .stations import Station, StationException, StationLevel, StationRegistry, TimeWindow

__all__ = [
    "Airing",
    "BroadcastScheduler",
    "Bulletin",
    "Displacement",
    "HolidayCalendar",
    "HolidayRule",
    "Priority",
    "Schedule",
    "ScheduleRequest",
    "Sketch",
    "SketchCatalogue",
    "Skip",
    "Station",
    "StationException",
    "StationLevel",
    "StationRegistry",
    "TimeWindow",
]
