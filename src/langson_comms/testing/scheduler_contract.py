"""Contract tests for broadcast scheduler plugins (``register_broadcast_schedulers``).

Usage::

    from langson_comms.testing.scheduler_contract import SchedulerContract

    class TestMyScheduler(SchedulerContract):
        contributed_class = MyScheduler
        example_config = {"weekdays": ["tuesday", "saturday"]}
        plugin = my_plugin_module      # optional: checks registration

The contract builds a small plan (three stations, three sketches, three weeks around
National Day 2022) and checks what every scheduler must guarantee: airings only in the
period, at known stations, of known sketches, inside each station's window and never
overlapping at one station; nothing planned on a day a station is off the air; each
left-out slot has a reason; the holiday ``skip`` rule leaves 2022-09-01 empty; and the
Circular 39 bulletins behave (an emergency displaces what it overlaps and is reported).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pendulum

from ..broadcast.holidays import HolidayCalendar, HolidayRule
from ..broadcast.scheduler import (
    BroadcastScheduler,
    Bulletin,
    ItemKind,
    Priority,
    Schedule,
    ScheduleRequest,
)
from ..broadcast.sketches import Sketch
from ..broadcast.stations import Station, StationException, StationLevel, TimeWindow
from .contracts import ContributionContract

__all__ = ["SchedulerContract", "contract_request"]

NATIONAL_DAY = pendulum.Date(2022, 9, 1)


def contract_request(**changes: Any) -> ScheduleRequest:
    """The contract's small plan; keyword arguments replace fields of the request."""
    stations = [
        Station("D-186", "District centre", StationLevel.DISTRICT, "186", "186", 10000, ip_connected=True),
        Station("C-6400", "Commune A", StationLevel.COMMUNE, "6400", "186", 2000),
        Station(
            "C-6403",
            "Commune B",
            StationLevel.COMMUNE,
            "6403",
            "186",
            1500,
            window=TimeWindow(dt.time(15, 30), dt.time(17, 30)),
        ),
    ]
    sketches = [
        Sketch("s1", "Cài đặt", "platform", "vi", 55, "P"),
        Sketch("s2", "iSee", "isee", "vi", 60, "P"),
        Sketch("s3", "MB Bank", "payment", "vi", 45, "P"),
    ]
    base: dict[str, Any] = {
        "stations": stations,
        "sketches": sketches,
        "start": pendulum.Date(2022, 8, 22),
        "end": pendulum.Date(2022, 9, 11),
        "window": TimeWindow(dt.time(14), dt.time(17)),
        "holidays": HolidayCalendar.build([2022]),
        "holiday_rule": HolidayRule.AIR,
        "exceptions": [StationException("C-6400", pendulum.Date(2022, 8, 29), pendulum.Date(2022, 9, 4), "repairs")],
    }
    base.update(changes)
    return ScheduleRequest(**base)


class SchedulerContract(ContributionContract):
    """What every broadcast scheduler must do; set ``contributed_class`` and ``example_config``."""

    kind: ClassVar[str] = "broadcast_scheduler"
    example_config: ClassVar[Mapping[str, Any]] = {}

    def scheduler(self, tmp_path: Path) -> BroadcastScheduler:
        built = self.build(tmp_path)
        assert isinstance(built, BroadcastScheduler), "schedulers subclass BroadcastScheduler"
        return built

    def run(self, tmp_path: Path, **changes: Any) -> tuple[ScheduleRequest, Schedule]:
        request = contract_request(**changes)
        return request, self.scheduler(tmp_path).schedule(request)

    def test_airings_are_inside_the_plan(self, tmp_path: Path) -> None:
        request, schedule = self.run(tmp_path)
        assert schedule.airings, "the contract plan must produce airings"
        codes = {s.code for s in request.stations}
        sketches = {s.id: s for s in request.sketches}
        for a in schedule.airings:
            assert request.start <= a.day <= request.end
            assert a.station in codes
            assert a.kind is ItemKind.SKETCH and a.item in sketches
            assert a.seconds == sketches[a.item].seconds
            assert a.start.tzinfo is not None and a.start.date() == a.day

    def test_airings_sit_in_the_window_and_never_overlap(self, tmp_path: Path) -> None:
        request, schedule = self.run(tmp_path)
        stations = {s.code: s for s in request.stations}
        for code, airings in schedule.by_station.items():
            ordered = sorted(airings, key=lambda a: a.start)
            for a in ordered:
                window = request.window_for(stations[code], a.day)
                assert window is not None
                local = a.start.in_timezone("Asia/Ho_Chi_Minh")
                assert window.start <= local.time() and local.add(seconds=int(a.seconds)).time() <= window.end
            for first, second in itertools.pairwise(ordered):
                assert first.end <= second.start, f"{code}: {first.item} overlaps {second.item}"

    def test_nothing_airs_while_a_station_is_off(self, tmp_path: Path) -> None:
        request, schedule = self.run(tmp_path)
        off = request.exceptions[0]
        assert not [a for a in schedule.for_station(off.station) if off.covers(a.day)]
        assert all(s.reason.value for s in schedule.skipped)

    def test_holiday_skip_leaves_national_day_empty(self, tmp_path: Path) -> None:
        _, air = self.run(tmp_path)
        _, skip = self.run(tmp_path, holiday_rule=HolidayRule.SKIP)
        on_air = [a for a in air.airings if a.day == NATIONAL_DAY]
        assert not [a for a in skip.airings if a.day == NATIONAL_DAY]
        assert len([s for s in skip.skipped if s.day == NATIONAL_DAY]) >= len(on_air)

    def test_sketches_are_balanced_per_station(self, tmp_path: Path) -> None:
        _, schedule = self.run(tmp_path, exceptions=[])
        for code in schedule.by_station:
            counts = schedule.sketch_counts(code)
            if len(counts) > 1:
                assert max(counts.values()) - min(counts.values()) <= 1, f"{code}: {dict(counts)}"

    def test_emergency_displaces_and_is_reported(self, tmp_path: Path) -> None:
        _, plain = self.run(tmp_path, exceptions=[])
        target = plain.for_station("D-186")[0]
        local = target.start.in_timezone("Asia/Ho_Chi_Minh")
        emergency = Bulletin(
            "flood",
            "Cảnh báo lũ",
            Priority.EMERGENCY,
            target.day,
            120,
            ("D-186",),
            dt.time(local.hour, local.minute),
        )
        _, schedule = self.run(tmp_path, exceptions=[], bulletins=[emergency])
        aired = [a for a in schedule.for_station("D-186") if a.item == "flood"]
        assert len(aired) == 1 and aired[0].priority is Priority.EMERGENCY
        overlapped = [a for a in plain.for_station("D-186") if a.overlaps(aired[0].start, aired[0].end)]
        assert target in overlapped
        assert sorted(d.airing.start for d in schedule.displaced) == sorted(a.start for a in overlapped)
        assert all(d.by == aired[0] for d in schedule.displaced)
        assert not set(overlapped) & set(schedule.airings)
        # everything else is still there
        assert len(schedule.airings) == len(plain.airings) - len(overlapped) + 1
