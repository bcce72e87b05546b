"""Grassroots loudspeaker broadcasting (hệ thống truyền thanh cơ sở).

Stations and sketches are read from CSV; a scheduler plugin turns them into airings;
exports write calendars, run-sheets and printable weekly sheets; as-run confirmations
(typed-in CSV or the HTTP endpoint for IP stations) are kept in SQLite and compared
with the plan to give compliance and reach.  See docs/broadcasting.md.

``__all__`` is the curated public surface: what a library user or a scheduler plugin
author needs, re-exported from the submodules that define it.
"""

from __future__ import annotations

from .asrun import AsRunStore, ComplianceReport, Confirmation, ConfirmationChecker, IngestReport, compliance, ingest_csv
from .exports import ExportResult, export_all, weekly_sheet_html, weekly_sheet_markdown, write_runsheet
from .holidays import HolidayCalendar, HolidayRule
from .reach import planned_reach
from .rotation import WeeklyRotationScheduler
from .scheduler import (
    Airing,
    BroadcastScheduler,
    Bulletin,
    Displacement,
    ItemKind,
    Priority,
    RegularPlan,
    Schedule,
    ScheduleRequest,
    Skip,
)
from .sketches import Sketch, SketchCatalogue
from .stations import Station, StationException, StationLevel, StationRegistry, TimeWindow

__all__ = [
    "Airing",
    "AsRunStore",
    "BroadcastScheduler",
    "Bulletin",
    "ComplianceReport",
    "Confirmation",
    "ConfirmationChecker",
    "Displacement",
    "ExportResult",
    "HolidayCalendar",
    "HolidayRule",
    "IngestReport",
    "ItemKind",
    "Priority",
    "RegularPlan",
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
    "WeeklyRotationScheduler",
    "compliance",
    "export_all",
    "ingest_csv",
    "planned_reach",
    "weekly_sheet_html",
    "weekly_sheet_markdown",
    "write_runsheet",
]
