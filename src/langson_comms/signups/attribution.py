"""Attribution: which team and commune an event counts for, and whether it is in the period.

Rules (docs/signups.md):

1. the event's ``team_code`` when the campaign's teams know it (rule ``team_code``);
2. else the team of the event's commune when the campaign has exactly one team there
   (rule ``commune``);
3. else no team (rule ``unattributed``): the event is kept and counted, never dropped.

An event without a commune takes its team's commune.  An event counts on the local date
(campaign timezone) of its own ``occurred_at``, however late it arrives; events outside
the campaign period are kept with ``in_period = False``.
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

import attrs

from ..campaign import Campaign, Team
from .event import SignupEvent

__all__ = ["Attribution", "Attributor", "UNATTRIBUTED"]

UNATTRIBUTED = "unattributed"


@attrs.frozen(slots=True)
class Attribution:
    """``team_code``/``commune_code`` counted for (``None``: unattributed / unknown), the
    ``rule`` that decided, the local ``day`` (YYYY-MM-DD) and ``in_period``."""

    team_code: str | None
    commune_code: str | None
    rule: str
    day: str
    in_period: bool


class Attributor:
    """Attributes events to a campaign's teams; build once per campaign, call per event."""

    def __init__(self, campaign: Campaign) -> None:
        self._teams: dict[str, Team] = {team.code: team for team in campaign.teams}
        by_commune: dict[str, list[Team]] = defaultdict(list)
        for team in campaign.teams:
            by_commune[team.commune_code].append(team)
        self._single: dict[str, Team] = {c: ts[0] for c, ts in by_commune.items() if len(ts) == 1}
        self._zone = ZoneInfo(campaign.period.timezone)
        self._days: dict[int, str] = {}
        self._start = campaign.period.starts_at.timestamp()
        self._end = campaign.period.ends_at.timestamp()

    def __call__(self, event: SignupEvent) -> Attribution:
        return Attribution(*self.fields(event))

    def fields(self, event: SignupEvent) -> tuple[str | None, str | None, str, str, bool]:
        """``Attribution``'s fields as a tuple (the ingestion loop's fast path)."""
        team = self._teams.get(event.team_code) if event.team_code else None
        rule = "team_code"
        if team is None and event.commune_code is not None:
            team = self._single.get(event.commune_code)
            rule = "commune"
        when = event.occurred_at
        stamp = when.timestamp()
        # Every real timezone changes offset on a quarter hour: one local date per quarter.
        quarter = int(stamp // 900)
        day = self._days.get(quarter)
        if day is None:
            day = self._days[quarter] = when.astimezone(self._zone).date().isoformat()
        return (
            team.code if team else None,
            event.commune_code or (team.commune_code if team else None),
            rule if team else UNATTRIBUTED,
            day,
            self._start <= stamp < self._end,
        )
