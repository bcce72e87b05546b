"""The reference plan's figures, holiday rules, exceptions and Circular 39 bulletins."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest

from langson_comms import Runtime
from langson_comms.broadcast.holidays import HolidayCalendar, HolidayRule
from langson_comms.broadcast.scheduler import Bulletin, ItemKind, Priority, SkipReason
from langson_comms.broadcast.stations import StationException, TimeWindow
from langson_comms.errors import ScheduleError

from .conftest import set_channel_keys

NATIONAL_DAY = pendulum.Date(2022, 9, 1)  # a Thursday
SATURDAY_AFTER = pendulum.Date(2022, 9, 3)


def test_reference_plan_gives_106_airings_per_station_and_15582_in_all(runtime: Runtime, channel: Any) -> None:
    schedule = channel.schedule(runtime.registry)
    assert channel.stations.counts() == {"district": 10, "commune": 137}
    assert len(schedule.airings) == 15_582
    assert {code: len(airings) for code, airings in schedule.by_station.items()} == {
        s.code: 106 for s in channel.stations
    }
    assert {a.day.isoweekday() for a in schedule.airings} == {2, 4, 6, 7}
    assert min(a.day for a in schedule.airings) == pendulum.Date(2022, 6, 30)
    assert max(a.day for a in schedule.airings) == pendulum.Date(2022, 12, 31)


def test_every_station_airs_its_sketches_within_one_of_each_other(runtime: Runtime, channel: Any) -> None:
    schedule = channel.schedule(runtime.registry)
    sketch_ids = {s.id for s in channel.sketches}
    for station in channel.stations:
        counts = schedule.sketch_counts(station.code)
        assert set(counts) == sketch_ids
        assert max(counts.values()) - min(counts.values()) <= 1, station.code
    # neighbours do not all air the same sketch on the same day
    assert len({a.item for a in schedule.airings if a.day == pendulum.Date(2022, 7, 5)}) == 4


def test_airings_start_in_each_stations_afternoon_window(runtime: Runtime, channel: Any) -> None:
    schedule = channel.schedule(runtime.registry)
    overridden = [s for s in channel.stations if s.window is not None]
    assert overridden, "the sample has stations with their own window"
    for station in channel.stations:
        window = station.window or TimeWindow(dt.time(14), dt.time(17))
        for a in schedule.for_station(station.code):
            assert a.start.timezone_name == "Asia/Ho_Chi_Minh"
            assert window.start <= a.start.time() < window.end


def _with_rule(runtime: Runtime, campaign_dir: Path, rule: str, **extra: str) -> tuple[Any, Any]:
    set_channel_keys(campaign_dir, holiday_rule=f'"{rule}"', **extra)
    channel = runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast")
    return channel, channel.schedule(runtime.registry)


def test_holiday_rule_air_keeps_national_day(runtime: Runtime, campaign_dir: Path) -> None:
    _channel, schedule = _with_rule(runtime, campaign_dir, "air")
    on_the_day = [a for a in schedule.airings if a.day == NATIONAL_DAY]
    assert len(on_the_day) == 147
    assert all("Quốc khánh" in a.note for a in on_the_day)
    assert len(schedule.airings) == 15_582


def test_holiday_rule_skip_drops_national_day_and_reports_it(runtime: Runtime, campaign_dir: Path) -> None:
    _channel, schedule = _with_rule(runtime, campaign_dir, "skip")
    assert not [a for a in schedule.airings if a.day == NATIONAL_DAY]
    skipped = [s for s in schedule.skipped if s.day == NATIONAL_DAY]
    assert len(skipped) == 147 and {s.reason for s in skipped} == {SkipReason.HOLIDAY}
    assert skipped[0].detail == "Quốc khánh"
    assert len(schedule.airings) == 15_582 - 147
    assert all(len(a) == 105 for a in schedule.by_station.values())


def test_holiday_rule_next_allowed_day_moves_to_saturday(runtime: Runtime, campaign_dir: Path) -> None:
    # Friday 2/9 is a holiday too and no airing day: the next allowed day is Saturday 3/9.
    channel, schedule = _with_rule(runtime, campaign_dir, "next_allowed_day")
    assert not [a for a in schedule.airings if a.day == NATIONAL_DAY]
    assert len(schedule.airings) == 15_582
    for station in channel.stations:
        saturday = schedule.on(station.code, SATURDAY_AFTER)
        assert len(saturday) == 2
        moved = [a for a in saturday if a.moved_from == NATIONAL_DAY]
        assert len(moved) == 1 and moved[0].start > saturday[0].start
        assert "dời từ 01/09" in moved[0].note


def test_one_off_holiday_addition_is_skipped(runtime: Runtime, campaign_dir: Path) -> None:
    extra = {"holidays_add": '[{ date = 2022-07-05, name = "Lễ hội địa phương" }]'}
    _channel, schedule = _with_rule(runtime, campaign_dir, "skip", **extra)
    assert not [a for a in schedule.airings if a.day == pendulum.Date(2022, 7, 5)]
    assert len(schedule.airings) == 15_582 - 2 * 147
    assert {s.detail for s in schedule.skipped} == {"Quốc khánh", "Lễ hội địa phương"}


def test_holiday_calendar_comes_from_the_holidays_package() -> None:
    calendar = HolidayCalendar.build([2022], removals=[dt.date(2022, 9, 2)], additions={dt.date(2022, 9, 5): "Bù"})
    assert calendar.name(dt.date(2022, 9, 1)) == "Quốc khánh"
    assert calendar.name(dt.date(2022, 2, 1)) is not None  # Tết, a lunar date
    assert dt.date(2022, 9, 2) not in calendar
    assert calendar.name(dt.date(2022, 9, 5)) == "Bù"
    assert HolidayRule.parse("skip") is HolidayRule.SKIP
    with pytest.raises(ValueError, match="not a holiday rule"):
        HolidayRule.parse("ignore")


def test_emergency_bulletin_displaces_the_planned_airing(runtime: Runtime, channel: Any) -> None:
    plain = channel.schedule(runtime.registry)
    station = list(channel.stations)[20]
    day = pendulum.Date(2022, 8, 6)  # Saturday
    planned = plain.on(station.code, day)
    assert len(planned) == 1
    at = planned[0].start.time()
    flood = Bulletin("lu-quet", "Cảnh báo lũ quét", Priority.EMERGENCY, day, 90, (station.code,), at)
    schedule = channel.schedule(runtime.registry, bulletins=[flood])
    assert [d.airing for d in schedule.displaced] == planned
    assert schedule.displaced[0].by.item == "lu-quet"
    now_on_air = schedule.on(station.code, day)
    assert [(a.item, a.priority) for a in now_on_air] == [("lu-quet", Priority.EMERGENCY)]
    assert len(schedule.airings) == 15_582  # one displaced, one emergency


def test_priority_bulletin_goes_first_and_normal_last(runtime: Runtime, channel: Any) -> None:
    day = pendulum.Date(2022, 7, 7)
    district = "186"
    first = Bulletin("tiem-chung", "Lịch tiêm chủng", Priority.PRIORITY, day, 45, (district,))
    last = Bulletin("hop-dan", "Thông báo họp dân", Priority.NORMAL, day, 30, (district,))
    schedule = channel.schedule(runtime.registry, bulletins=[last, first])
    for station in channel.stations.in_district(district):
        programme = sorted(schedule.on(station.code, day), key=lambda a: a.start)
        assert next(a.item for a in programme) == "tiem-chung"
        assert programme[-1].item == "hop-dan"
        assert programme[1].kind is ItemKind.SKETCH
        assert programme[0].start.time() == (station.window or channel.window).start
        for a, b in itertools.pairwise(programme):
            assert a.end <= b.start
    assert not schedule.displaced


def test_station_exceptions_take_a_station_off_or_move_its_window(runtime: Runtime, channel: Any) -> None:
    stations = list(channel.stations)
    off, moved = stations[3], stations[4]
    request = attrs.evolve(
        channel.request(),
        exceptions=[
            StationException(off.code, pendulum.Date(2022, 7, 1), pendulum.Date(2022, 7, 31), "mất điện"),
            StationException(
                moved.code,
                pendulum.Date(2022, 7, 1),
                pendulum.Date(2022, 7, 31),
                "mùa vụ",
                TimeWindow(dt.time(18), dt.time(19)),
            ),
        ],
    )
    schedule = channel.scheduler(runtime.registry).schedule(request)
    july = [a for a in schedule.for_station(off.code) if a.day.month == 7]
    assert not july
    off_skips = [s for s in schedule.skipped if s.station == off.code]
    assert len(off_skips) == 18 and {s.detail for s in off_skips} == {"mất điện"}
    assert len(schedule.for_station(off.code)) + len(off_skips) == 106
    moved_july = [a for a in schedule.for_station(moved.code) if a.day.month == 7]
    assert moved_july and all(a.start.hour == 18 for a in moved_july)


def test_a_station_not_yet_valid_is_not_scheduled(runtime: Runtime, campaign_dir: Path) -> None:
    path = campaign_dir / "stations.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("TTH-186,"))
    cells = lines[index].split(",")
    cells[-3] = "2022-10-01"  # valid_from
    lines[index] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    channel = runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast")
    schedule = channel.schedule(runtime.registry)
    assert min(a.day for a in schedule.for_station("TTH-186")) >= pendulum.Date(2022, 10, 1)
    skips = [s for s in schedule.skipped if s.station == "TTH-186"]
    assert {s.reason for s in skips} == {SkipReason.NOT_IN_SERVICE}
    assert len(skips) + len(schedule.for_station("TTH-186")) == 106


def test_a_programme_that_does_not_fit_the_window_is_an_error(runtime: Runtime, channel: Any) -> None:
    day = pendulum.Date(2022, 7, 7)
    long_talk = Bulletin("dai", "Bài nói dài", Priority.PRIORITY, day, 3 * 3600, ("186",))
    with pytest.raises(ScheduleError, match="after its window"):
        channel.schedule(runtime.registry, bulletins=[long_talk])
