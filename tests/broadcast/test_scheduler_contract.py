"""The built-in weekly rotation scheduler passes the scheduler contract of the test kit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from langson_comms.broadcast.rotation import WeeklyRotationScheduler
from langson_comms.default_plugins import broadcast as broadcast_plugin
from langson_comms.testing.scheduler_contract import SchedulerContract


class TestWeeklyRotationContract(SchedulerContract):
    contributed_class = WeeklyRotationScheduler
    example_config: ClassVar[Mapping[str, Any]] = {
        "weekdays": ["tuesday", "thursday", "saturday", "sunday"],
        "airings_per_week": 4,
    }
    plugin = broadcast_plugin


class TestTwoADayContract(SchedulerContract):
    contributed_class = WeeklyRotationScheduler
    example_config: ClassVar[Mapping[str, Any]] = {"weekdays": ["thứ 2", "thứ 5"], "airings_per_week": 4}
