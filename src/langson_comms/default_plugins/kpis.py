"""Built-in KPI targets of the reference plan: reach, conversion, coverage, training, leaderboard.

These classes hold and check the *targets* of a campaign file.  Measuring them against
the ledger (actual reaches, installs, pacing) belongs to the KPI engine, which is not
written yet: see docs/kpis.md.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from langson_comms import hookimpl
from langson_comms.campaign import Campaign
from langson_comms.config import ConfigContext, FromTable, at_least, percentage


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


@attrs.frozen
class ConversionTarget(FromTable):
    """``installs`` successful account installs per ``per_reaches`` reaches."""

    name: ClassVar[str] = "conversion"
    per_reaches: int = attrs.field(validator=at_least(1))
    installs: int = attrs.field(default=1, validator=at_least(1))
    reach_target: str | None = None
    platforms: list[str] = attrs.field(factory=list)

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


@hookimpl
def register_kpis() -> list[type[Any]]:
    return [ReachTarget, ConversionTarget, CoverageTarget, TeamTrainingTarget, LeaderboardTarget]
