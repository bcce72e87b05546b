"""The report's period: inside the campaign, or a located error (review11)."""

from __future__ import annotations

import pendulum
import pytest

from langson_comms import FrozenClock
from langson_comms.errors import ConfigError
from langson_comms.kpi import report_period
from langson_comms.testing.kpi_contract import contract_data

CAMPAIGN = contract_data().campaign  # 2022-07-01 .. 2022-07-10
CLOCK = FrozenClock(pendulum.datetime(2022, 7, 5, 12, tz="Asia/Ho_Chi_Minh"))
D = pendulum.date


def test_the_default_and_a_period_inside_the_campaign() -> None:
    assert (report_period(CAMPAIGN, CLOCK).start, report_period(CAMPAIGN, CLOCK).end) == (D(2022, 7, 1), D(2022, 7, 5))
    period = report_period(CAMPAIGN, CLOCK, D(2022, 7, 2), D(2022, 7, 10))
    assert (period.start, period.end) == (D(2022, 7, 2), D(2022, 7, 10))


@pytest.mark.parametrize(("start", "end", "key", "words"), [
    # --from 1900-01-01 was taken: a report over 122 years, pacing against 10 days
    (D(1900, 1, 1), None, "start", "1900-01-01 is before the campaign starts (2022-07-01)"),
    # after the end, it blamed --to (the default end) for a mistake in --from
    (D(2022, 8, 1), None, "start", "2022-08-01 is after the campaign ends (2022-07-10)"),
    # --to 2030-01-01 was taken: values counted to 2030, forecast to 2022-07-10 (value > forecast)
    (None, D(2030, 1, 1), "end", "2030-01-01 is after the campaign ends (2022-07-10)"),
    (None, D(2022, 6, 1), "end", "2022-06-01 is before the campaign starts (2022-07-01)"),
    (D(2022, 7, 8), D(2022, 7, 3), "end", "the report would end (2022-07-03) before it starts (2022-07-08)"),
])
def test_a_period_outside_the_campaign_is_a_located_error(start: pendulum.Date | None, end: pendulum.Date | None,
                                                          key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        report_period(CAMPAIGN, CLOCK, start, end)
    assert info.value.key == key  # the API's parameter names: the CLI shows --from/--to
    assert words in str(info.value) and "--" not in str(info.value)
    assert "expected" in str(info.value)


def test_a_leaderboard_day_after_the_campaign_is_an_error_about_day() -> None:
    from langson_comms.api import day_leaderboard

    with pytest.raises(ConfigError) as info:
        day_leaderboard(CAMPAIGN, day=D(2022, 7, 11), clock=CLOCK)
    assert info.value.key == "day" and "after the campaign ends (2022-07-10)" in str(info.value)
