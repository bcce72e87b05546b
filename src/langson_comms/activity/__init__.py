"""Activity of the channels run by people (press, visual, social, outreach) and their reach.

A channel takes part through the activity contract (``contract.ActivityChannel``):
the record classes it logs, how a record becomes ``ReachRecord``s, its cadence rules.
Logs come from CSV/.xlsx files (``log_files``) or from code (``log_records``) into an
``ActivityStore`` (``SqliteActivityStore``); ``activity_status`` sums them up, and
``langson_comms.reach.reach_records`` lists every channel's reach for the KPIs.  See
docs/activity.md.
"""

from __future__ import annotations

from .contract import (
    ActivityChannel,
    ActivityRecord,
    ActivityView,
    CadenceGap,
    DayCount,
    RowProblem,
    daily_gaps,
    is_activity_channel,
    weekly_gaps,
)
from .log import (
    ActivityStatus,
    FileCounts,
    LogReport,
    activity_channel,
    activity_status,
    log_files,
    log_records,
)
from .store import ActivityRejection, ActivityStore, SqliteActivityStore, StoredActivity

__all__ = [
    "ActivityChannel",
    "ActivityRecord",
    "ActivityRejection",
    "ActivityStatus",
    "ActivityStore",
    "ActivityView",
    "CadenceGap",
    "DayCount",
    "FileCounts",
    "LogReport",
    "RowProblem",
    "SqliteActivityStore",
    "StoredActivity",
    "activity_channel",
    "activity_status",
    "daily_gaps",
    "is_activity_channel",
    "log_files",
    "log_records",
    "weekly_gaps",
]
