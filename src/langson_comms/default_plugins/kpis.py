"""Built-in KPI kinds of the reference plan: reach, conversion, coverage, training, leaderboard.

Each class holds and checks the *target* of a ``[targets.<key>]`` table and implements
the KPI contract (``langson_comms.kpi.Kpi``): ``measure(data, period) -> KpiResult``
computed from ``KpiData`` with the public functions of ``langson_comms.kpi`` — the way a
third-party KPI would.  See docs/kpis.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from langson_comms import hookimpl
from langson_comms.campaign import Campaign, Period
from langson_comms.config import ConfigContext, FromTable, at_least, percentage
from langson_comms.kpi import (
    KpiData,
    KpiResult,
    leaderboard,
    measure_conversion,
    measure_coverage,
    measure_reach,
    measure_team_training,
)


@attrs.frozen
class ReachTarget(FromTable):
    """Total information reaches over the campaign (all channels)."""

    name: ClassVar[str] = "reach"
    target: int = attrs.field(validator=at_least(1))
    channels: list[str] = attrs.field(factory=list)

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        for i, key in enumerate(self.channels):
            if key not in campaign.channels:
                raise context.error(f"{key!r} is not a channel of this campaign", f"channels[{i}]")

    def describe(self) -> str:
        return f"{self.target:,} reaches"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        return measure_reach(data, period, self.target, self.channels)


@attrs.frozen
class ConversionTarget(FromTable):
    """``installs`` successful account installs per ``per_reaches`` reaches."""

    name: ClassVar[str] = "conversion"
    per_reaches: int = attrs.field(validator=at_least(1))
    installs: int = attrs.field(default=1, validator=at_least(1))
    reach_target: str | None = None
    platforms: list[str] = attrs.field(factory=list)
    #: an install is "reached by SMS" when an SMS was delivered to its number this many days before
    attribution_window_days: int = attrs.field(default=7, validator=at_least(1))

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        if self.reach_target is None:
            return
        target = campaign.targets.get(self.reach_target)
        if target is None or not isinstance(target.kpi, ReachTarget):
            raise context.error(f"{self.reach_target!r} is not a reach target of this campaign", "reach_target")

    def expected_installs(self, reaches: int) -> int:
        return reaches * self.installs // self.per_reaches

    def describe(self) -> str:
        return f"{self.installs} install(s) per {self.per_reaches:,} reaches"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        reach_target = None
        channels: list[str] = []
        if self.reach_target is not None and self.reach_target in data.campaign.targets:
            kpi = data.campaign.targets[self.reach_target].kpi
            reach_target, channels = float(kpi.target), list(kpi.channels)
        reaches = measure_reach(data, period, reach_target or 1, channels).value
        return measure_conversion(data, period, per_reaches=self.per_reaches, installs_per=self.installs,
                                  reach_target=reach_target, reaches=reaches, platforms=self.platforms)


@attrs.frozen
class CoverageTarget(FromTable):
    """Share of the population reached by at least one channel."""

    name: ClassVar[str] = "coverage"
    target_percent: float = attrs.field(validator=percentage)
    population: int | None = attrs.field(default=None, validator=at_least(1))
    population_source: str = ""

    def describe(self) -> str:
        of = f" of {self.population:,} people" if self.population else ""
        return f"{self.target_percent:g} % reached{of}"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        return measure_coverage(data, period, target_percent=self.target_percent,
                                population=self.population, population_source=self.population_source)


@attrs.frozen
class TeamTrainingTarget(FromTable):
    """Share of community team members able to install and guide before field work."""

    name: ClassVar[str] = "team_training"
    target_percent: float = attrs.field(validator=percentage)

    def current_percent(self, campaign: Campaign) -> float:
        members = [m for team in campaign.teams for m in team.members]
        return 100.0 * sum(m.trained for m in members) / len(members) if members else 0.0

    def describe(self) -> str:
        return f"{self.target_percent:g} % of team members trained"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        return measure_team_training(data, period, target_percent=self.target_percent)


CADENCES = ("daily", "weekly")


@attrs.frozen
class LeaderboardTarget(FromTable):
    """A leaderboard of installs per team, published at ``cadence`` to the teams' groups."""

    name: ClassVar[str] = "leaderboard"
    cadence: str = attrs.field(
        default="daily",
        validator=attrs.validators.in_(CADENCES),
    )
    metric: str = "installs"
    publish_to: str = "zalo_groups"

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        if not campaign.teams:
            raise context.error("a leaderboard needs teams: add a [teams] table")

    def describe(self) -> str:
        return f"{self.cadence} {self.metric} leaderboard → {self.publish_to}"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        """Teams with at least one sign-up of the metric in the period, of all teams; the
        leaderboard of the as-of day in ``details``."""
        board = leaderboard(data, period, min(data.as_of, period.end), metric=self.metric)
        active = sum(1 for row in board.rows if row.installs > 0)
        first, last = period.start.isoformat(), min(data.as_of, period.end).isoformat()
        signed_up = any(first <= s.day <= last for s in data.signups)
        return KpiResult(
            key="", kind="leaderboard", value=float(active), target=float(len(board.rows)), unit="teams",
            method=(f"teams with at least one sign-up counted as {self.metric!r} in the period, "
                    "of all teams; ranked by the period's total"),
            breakdowns={"team": {row.team_code: float(row.installs) for row in board.rows}},
            details={"day": board.day.isoformat(), "top": [r.team_code for r in board.rows[:3]],
                     "idle_today": [r.team_code for r in board.idle_teams]},
            no_data="" if signed_up else "no sign-up recorded yet in the period",
        )


@hookimpl
def register_kpis() -> list[type[Any]]:
    return [ReachTarget, ConversionTarget, CoverageTarget, TeamTrainingTarget, LeaderboardTarget]
