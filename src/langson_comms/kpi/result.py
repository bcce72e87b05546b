"""The measured result: frozen values every report renders, computed once.

``measure()`` (``langson_comms.kpi.measure``) returns one ``Measurement``: a ``KpiResult``
per ``[targets.<key>]`` table, the ``Leaderboard`` of the period's last day, and the
``Attribution`` summary.  Text, Markdown, HTML, JSON, xlsx and the dashboard only
render it (design.md: "Reports are views of one measured result"); ``as_dict()`` is the
JSON shape (docs/kpis.md).

Breakdowns are ``{dimension: {key: value}}`` with dimensions ``day`` (YYYY-MM-DD),
``channel``, ``district``, ``commune``, ``team``, ``platform`` and ``kind`` — each KPI
gives those that apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

if TYPE_CHECKING:
    from .compliance import Compliance

__all__ = [
    "AttributionSummary",
    "KpiResult",
    "Leaderboard",
    "LeaderboardRow",
    "Measurement",
    "Pacing",
]

#: the breakdown dimensions a ``KpiResult`` may carry
DIMENSIONS = ("day", "channel", "district", "commune", "team", "platform", "kind")


def _frozen_breakdowns(value: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return {dim: dict(values) for dim, values in value.items()}


@attrs.frozen
class Pacing:
    """Progress against a target for the elapsed share of the period, and a forecast.

    ``elapsed_share``: days from the period's start to ``as_of`` (inclusive) over the
    period's days; ``expected`` = target × elapsed share; ``ratio`` = value / expected
    (1.0 = exactly on pace; ``None`` when nothing is expected yet); ``forecast``: the value
    expected at the period's end by ``forecast_method`` (in words)."""

    as_of: pendulum.Date
    elapsed_share: float
    expected: float
    ratio: float | None
    forecast: float
    forecast_method: str
    on_track: bool
    #: the target's even pace: target / the period's days (charts draw it)
    target_per_day: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "elapsed_share": self.elapsed_share,
            "expected": self.expected, "ratio": self.ratio, "forecast": self.forecast,
            "forecast_method": self.forecast_method, "on_track": self.on_track,
            "target_per_day": self.target_per_day,
        }


@attrs.frozen
class KpiResult:
    """One target measured: ``value`` against ``target`` (``progress`` = value / target,
    ``None`` without a target), the ``method`` in words, ``breakdowns`` by dimension,
    ``pacing`` when the KPI accumulates over the period, and ``details``: further named
    figures of the kind (JSON-able: numbers, text, lists and mappings of them).

    ``unit`` says what ``value`` counts: ``reaches``, ``installs``, ``percent`` …

    ``no_data`` says why there is nothing to measure yet (no sign-up, no reach record in
    the period…): ``value`` is then 0 but no figure, ``progress`` is ``None`` and the
    reports say "no data yet" instead of a misleading 0 %."""

    key: str
    kind: str
    value: float
    target: float | None
    unit: str
    method: str
    breakdowns: Mapping[str, Mapping[str, float]] = attrs.field(factory=dict, converter=_frozen_breakdowns)
    pacing: Pacing | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    #: facts a reader must know (missing data, estimates, a store that was absent)
    notes: tuple[str, ...] = ()
    #: why there is nothing to measure yet ("" when the value is a figure)
    no_data: str = ""

    @property
    def progress(self) -> float | None:
        if self.no_data or self.target is None or self.target == 0:
            return None
        return self.value / self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "kind": self.kind, "value": self.value, "target": self.target,
            "progress": self.progress, "unit": self.unit, "method": self.method,
            "breakdowns": {d: dict(v) for d, v in self.breakdowns.items()},
            "pacing": None if self.pacing is None else self.pacing.as_dict(),
            "details": dict(self.details), "notes": list(self.notes), "no_data": self.no_data or None,
        }


@attrs.frozen
class LeaderboardRow:
    """One team on one day: ``installs`` from the period's start to the day (inclusive),
    ``installs_day`` on the day, ``rank`` by ``installs`` (ties share a rank: 1, 2, 2, 4),
    ``previous_rank`` the day before (``None`` on the first day) and ``rank_change``
    (positive = moved up)."""

    team_code: str
    team_name: str
    commune_code: str
    commune_name: str
    district_code: str | None
    district_name: str | None
    installs: int
    installs_day: int
    rank: int
    previous_rank: int | None

    @property
    def rank_change(self) -> int | None:
        return None if self.previous_rank is None else self.previous_rank - self.rank

    def as_dict(self) -> dict[str, Any]:
        return {
            "team_code": self.team_code, "team_name": self.team_name,
            "commune_code": self.commune_code, "commune_name": self.commune_name,
            "district_code": self.district_code, "district_name": self.district_name,
            "installs": self.installs, "installs_day": self.installs_day, "rank": self.rank,
            "previous_rank": self.previous_rank, "rank_change": self.rank_change,
        }


@attrs.frozen
class Leaderboard:
    """Installs per team for ``day`` and cumulative since ``start``, rows sorted by rank then
    team code; ``metric`` names the sign-up kinds counted (``installs`` = kind ``install``);
    ``top_communes``: (commune code, name, installs) best first; ``unattributed``:
    installs of the period no team is credited with (counted, not ranked)."""

    day: pendulum.Date
    start: pendulum.Date
    metric: str
    rows: tuple[LeaderboardRow, ...]
    top_communes: tuple[tuple[str, str, int], ...] = ()
    unattributed: int = 0
    unattributed_day: int = 0

    @property
    def idle_teams(self) -> tuple[LeaderboardRow, ...]:
        """Teams with no install on ``day``."""
        return tuple(row for row in self.rows if row.installs_day == 0)

    @property
    def total(self) -> int:
        return sum(row.installs for row in self.rows) + self.unattributed

    @property
    def total_day(self) -> int:
        return sum(row.installs_day for row in self.rows) + self.unattributed_day

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "start": self.start.isoformat(), "metric": self.metric,
            "rows": [row.as_dict() for row in self.rows],
            "top_communes": [{"commune_code": c, "commune_name": n, "installs": i}
                             for c, n, i in self.top_communes],
            "idle_teams": [row.team_code for row in self.idle_teams],
            "unattributed": self.unattributed, "unattributed_day": self.unattributed_day,
            "total": self.total, "total_day": self.total_day,
        }


@attrs.frozen
class AttributionSummary:
    """Installs of the period credited to teams and to the SMS channel.

    ``by_rule``: installs per attribution rule (``team_code``, ``commune``,
    ``unattributed``); ``reached_by_sms``: installs whose number was delivered an SMS in
    the ``window_days`` before the install (matched through the keyed phone hashes);
    ``with_phone``: installs that carry a phone hash (only those can be matched);
    ``sms_matched``: ``False`` when the SMS match could not be made (no ledger, no key),
    said in ``note``."""

    installs: int
    by_rule: Mapping[str, int]
    with_phone: int
    reached_by_sms: int
    window_days: int
    sms_matched: bool
    preceding_channels: Mapping[str, int] = attrs.field(factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "installs": self.installs, "by_rule": dict(self.by_rule), "with_phone": self.with_phone,
            "reached_by_sms": self.reached_by_sms, "window_days": self.window_days,
            "sms_matched": self.sms_matched, "preceding_channels": dict(self.preceding_channels),
            "note": self.note,
        }


@attrs.frozen
class Measurement:
    """Every figure of a campaign for ``period`` as of ``as_of`` (the last day counted):
    a ``KpiResult`` per target key (in the campaign file's order), the ``leaderboard`` of
    ``as_of`` (``None`` without a leaderboard target or teams), the ``attribution``
    summary, and ``measured_at`` (the injected clock's instant)."""

    campaign_id: str
    campaign_title: str
    period_start: pendulum.Date
    period_end: pendulum.Date
    as_of: pendulum.Date
    measured_at: pendulum.DateTime
    kpis: Mapping[str, KpiResult]
    leaderboard: Leaderboard | None = None
    attribution: AttributionSummary | None = None
    notes: tuple[str, ...] = ()
    #: cadence and compliance (``Compliance``): press weeks, social days, airings, SMS rate
    compliance: Compliance | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"kpis": {KEY: {...}}, "leaderboard": [{team_code, installs,
        installs_day, rank, …}], "leaderboard_day": …, "attribution": …}``."""
        return {
            "campaign": {"id": self.campaign_id, "title": self.campaign_title},
            "period": {"from": self.period_start.isoformat(), "to": self.period_end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "measured_at": self.measured_at.isoformat(),
            "kpis": {key: result.as_dict() for key, result in self.kpis.items()},
            "leaderboard": [] if self.leaderboard is None else [r.as_dict() for r in self.leaderboard.rows],
            "leaderboard_day": None if self.leaderboard is None else self.leaderboard.as_dict(),
            "attribution": None if self.attribution is None else self.attribution.as_dict(),
            "compliance": None if self.compliance is None else self.compliance.as_dict(),
            "notes": list(self.notes),
        }
