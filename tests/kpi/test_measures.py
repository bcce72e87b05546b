"""Every measure on the kit's hand-built data set (langson_comms.testing.kpi_contract),
with the answers worked out here by hand.

Data: campaign 2022-07-01..10 (10 days), as of 07-05 (5 days elapsed, share 0.5).
Reach: sms 200 (07-01, district 21) + 100 (07-03, 22); radio 300 (07-02, 21/commune 100)
+ 100 (07-05, 22); radio 999 on 07-06 is after as_of.  Total 700.
Sign-ups up to 07-05: installs T100 ×2 (07-01, 07-02), T200 (07-05), unattributed (07-05);
an mbbank account_opened of T300 (07-05, not an install); a T300 install on 07-06 (after).
"""

from __future__ import annotations

import math

import attrs
import pendulum
import pytest

from langson_comms.campaign import Period, TeamMember
from langson_comms.kpi import (
    Compliance,
    attribution,
    coverage_share,
    measure_conversion,
    measure_coverage,
    measure_reach,
    measure_team_training,
    pacing,
)
from langson_comms.testing.kpi_contract import contract_data

PERIOD = Period(pendulum.date(2022, 7, 1), pendulum.date(2022, 7, 5))


def test_reach_sums_every_channel_by_channel_day_and_area() -> None:
    result = measure_reach(contract_data(), PERIOD, 1000)
    assert result.value == 700
    assert result.progress == pytest.approx(0.7)
    assert result.breakdowns["channel"] == {"radio": 400, "sms": 300}
    assert result.breakdowns["day"] == {"2022-07-01": 200, "2022-07-02": 300, "2022-07-03": 100,
                                        "2022-07-05": 100}
    assert result.breakdowns["district"] == {"21": 500, "22": 200}
    assert result.breakdowns["commune"] == {"100": 300}
    assert result.details["methods"] == {"radio": "airings × listeners", "sms": "delivered SMS"}


def test_reach_of_named_channels_only() -> None:
    assert measure_reach(contract_data(), PERIOD, 1000, ["sms"]).value == 300


def test_reach_pacing_and_forecast() -> None:
    p = measure_reach(contract_data(), PERIOD, 1000).pacing
    assert p is not None
    assert p.elapsed_share == 0.5
    assert p.expected == 500
    assert p.ratio == pytest.approx(700 / 500)
    # last 5 days (fewer than 14 elapsed): 700 / 5 = 140 a day, 5 days left
    assert p.forecast == pytest.approx(700 + 140 * 5)
    assert p.on_track


def test_pacing_uses_the_last_14_days() -> None:
    period = Period(pendulum.date(2022, 1, 1), pendulum.date(2022, 1, 31))
    by_day = {f"2022-01-{d:02d}": (10.0 if d <= 6 else 1.0) for d in range(1, 21)}
    p = pacing(by_day, 100, period, pendulum.date(2022, 1, 20))
    assert p is not None
    # value 6*10 + 14*1 = 74; rate of 07..20 = 1 a day; 11 days left → 85; expected 100*20/31
    assert p.forecast == pytest.approx(85)
    assert p.expected == pytest.approx(100 * 20 / 31)
    assert not p.on_track


def test_coverage_with_overlap() -> None:
    result = measure_coverage(contract_data(), PERIOD, target_percent=100, population=1000)
    # sms: 300 distinct subscribers → 0.3; radio: 400 reaches at random → 1 - e^-0.4
    expected = 1 - (1 - 0.3) * math.exp(-0.4)
    assert result.value == pytest.approx(100 * expected)
    assert result.breakdowns["channel"]["sms"] == pytest.approx(30)
    assert result.breakdowns["channel"]["radio"] == pytest.approx(100 * (1 - math.exp(-0.4)))
    assert result.details["people_reached"] == round(expected * 1000)


def test_coverage_sms_bounded_by_the_subscriber_base() -> None:
    data = attrs.evolve(contract_data(), sms_subscribers=250)
    result = measure_coverage(data, PERIOD, target_percent=100, population=1000)
    assert result.value == pytest.approx(100 * (1 - 0.75 * math.exp(-0.4)))
    assert coverage_share({}, 100, {"sms": 500}) == 1.0  # never above the population


def test_coverage_without_population_says_so() -> None:
    result = measure_coverage(contract_data(), PERIOD, target_percent=100, population=None)
    assert result.value == 0 and any("population" in n for n in result.notes)


def test_conversion_installs_per_500_and_the_goal() -> None:
    result = measure_conversion(contract_data(), PERIOD, per_reaches=10, installs_per=1,
                                reach_target=1000, reaches=700)
    assert result.value == 4  # 3 team installs + 1 unattributed; the account opening is not one
    assert result.target == 100  # 1000 reaches / 10
    assert result.details["reaches_per_install"] == 175  # 700 / 4
    assert result.details["expected_from_reach"] == 70
    assert result.breakdowns["team"] == {"T100": 2, "T200": 1, "unattributed": 1}
    assert result.breakdowns["district"] == {"21": 3, "unknown": 1}
    assert result.details["by_platform_kind"] == {"cong_dan_so_xu_lang": {"install": 4},
                                                  "mbbank": {"account_opened": 1}}
    assert result.pacing is not None and result.pacing.expected == 50


def test_conversion_of_the_reference_plan_is_24000_installs() -> None:
    result = measure_conversion(contract_data(), PERIOD, per_reaches=500, installs_per=1,
                                reach_target=12_000_000, reaches=700)
    assert result.target == 24_000


def test_attribution_window() -> None:
    summary = attribution(contract_data(), PERIOD)
    # h1: SMS a day before its install → reached; h2: 12 days before (window 7) → not;
    # h3: SMS after the install → not
    assert summary.installs == 4 and summary.with_phone == 3
    assert summary.reached_by_sms == 1
    assert summary.by_rule == {"team_code": 3, "unattributed": 1}
    wider = attribution(attrs.evolve(contract_data(), attribution_window_days=12), PERIOD)
    assert wider.reached_by_sms == 2


def test_attribution_without_ledger_says_so() -> None:
    summary = attribution(attrs.evolve(contract_data(), sms_deliveries=None, sms_note="no SMS ledger"), PERIOD)
    assert not summary.sms_matched and summary.reached_by_sms == 0 and summary.note == "no SMS ledger"


def test_team_training() -> None:
    result = measure_team_training(contract_data(), PERIOD, target_percent=100)
    assert result.value == 60  # 3 of 5 members
    assert result.breakdowns["team"] == {"T100": 100, "T200": 50, "T300": 0}
    assert result.details["started_before_trained"] == ["T200", "T300"]


def test_team_training_from_training_records() -> None:
    data = attrs.evolve(contract_data(), compliance=Compliance(
        training={"members": 5, "trained": 4, "percent": 80.0}, visits_before_trained=2))
    result = measure_team_training(data, PERIOD, target_percent=100)
    assert result.value == 80
    assert result.details["visits_before_trained"] == 2
    assert "training records" in result.method


def test_nothing_recorded_yet_is_no_data_not_a_zero_percent() -> None:
    """Review11: with no sign-up and no reach record yet the report said reach 0 (0.0 %,
    pace 0 %, forecast 0), coverage 0.0 %: figures, not "nothing to measure yet"."""
    from langson_comms.default_plugins.kpis import LeaderboardTarget

    empty = attrs.evolve(contract_data(), signups=[], reach=[], sms_deliveries=None)
    results = {
        "reach": measure_reach(empty, PERIOD, 1000),
        "conversion": measure_conversion(empty, PERIOD, per_reaches=10, installs_per=1, reach_target=1000,
                                         reaches=0.0),
        "coverage": measure_coverage(empty, PERIOD, target_percent=100, population=1000),
        "leaderboard": LeaderboardTarget().measure(empty, PERIOD),
    }
    for kind, result in results.items():
        assert result.no_data, kind
        assert result.progress is None and result.pacing is None, kind
        assert result.as_dict()["no_data"] == result.no_data and result.as_dict()["progress"] is None
    assert "sign-up" in results["conversion"].no_data and "reach" in results["reach"].no_data
    # data in the period: figures, even 0 of them
    full = contract_data()
    assert not measure_reach(full, PERIOD, 1000).no_data
    assert not measure_conversion(full, PERIOD, per_reaches=10, installs_per=1, reach_target=1000,
                                  reaches=700.0, platforms=("mbbank",)).no_data  # a sign-up, no install
    assert measure_reach(full, PERIOD, 1000).as_dict()["no_data"] is None


def test_team_training_says_when_the_records_count_fewer_members_than_the_teams_file() -> None:
    """Review11: the reference teams file lists 857 members, the outreach channel's
    training summary 851 (namesakes within a team are one name to it): 95.4 % of 851 was
    given as the share of the teams' members without a word."""
    data = attrs.evolve(contract_data(), compliance=Compliance(
        training={"members": 4, "trained": 4, "percent": 100.0}))
    result = measure_team_training(data, PERIOD, target_percent=100)
    assert result.details["members"] == 4 and result.details["teams_file_members"] == 5
    assert any("4 members" in n and "teams file lists 5" in n for n in result.notes)


def test_team_training_notes_namesakes_the_training_records_cannot_tell_apart() -> None:
    """Left_b: members are counted once each, namesakes included; a training record
    names a member by team and name, so the KPI says which members it cannot tell apart."""
    data = contract_data()
    campaign = data.campaign
    t100 = campaign.teams[0]
    twin = attrs.evolve(t100, members=(*t100.members, TeamMember(" a ", False)))
    campaign = attrs.evolve(campaign, teams=(twin, *campaign.teams[1:]))
    with_records = attrs.evolve(data, campaign=campaign, compliance=Compliance(
        training={"members": 6, "trained": 5, "percent": 83.3}))
    result = measure_team_training(with_records, PERIOD, target_percent=100)
    assert result.details["members"] == 6 == result.details["teams_file_members"]
    assert result.notes == ("2 members share a name with a teammate (team T100): a training record "
                            "names its member by team and name, so it dates every namesake",)
    # from the teams file alone each member has its own row: nothing to say
    alone = measure_team_training(attrs.evolve(data, campaign=campaign), PERIOD, target_percent=100)
    assert alone.details["members"] == 6 and alone.notes == ()


def test_no_pace_nor_forecast_for_a_period_that_starts_after_the_campaign() -> None:
    """Review11: ``report --from 2022-07-15 --to 2022-07-20`` paced 6 days' reach against
    the target expected since the campaign's start (12 % instead of 149 %) and forecast
    3.8 M instead of 10.4 M: the forecast to the campaign's end changed with ``--from``."""
    late = Period(pendulum.date(2022, 7, 2), pendulum.date(2022, 7, 5))
    data = contract_data()
    for result in (measure_reach(data, late, 1000),
                   measure_conversion(data, late, per_reaches=10, installs_per=1, reach_target=1000,
                                      reaches=700.0)):
        assert result.pacing is None
        assert any("pace and forecast" in n and "2022-07-01" in n for n in result.notes)
    assert measure_reach(data, PERIOD, 1000).pacing is not None  # from the campaign's start: paced
