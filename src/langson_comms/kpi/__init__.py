"""Measuring a campaign: KPIs, pacing, attribution and the daily team leaderboard.

``measure(campaign, period, clock=…, signups=…, ledger=…)`` reads the stores once into
``KpiData`` and returns one ``Measurement`` — a ``KpiResult`` per target, the
``Leaderboard`` and the ``AttributionSummary`` — that every report only renders.
Every KPI kind implements the contract ``Kpi.measure(data, period) -> KpiResult``
(see ``contract.py``, docs/kpis.md).
"""

from __future__ import annotations

from .compliance import Compliance, compliance_of
from .contract import Kpi
from .data import KpiData, ReachFact, SignupFact, load_data, store_paths
from .leaderboard import (
    ZALO_LIMIT,
    leaderboard,
    leaderboard_csv,
    write_leaderboard_csv,
    write_leaderboard_xlsx,
    zalo_messages,
)
from .measure import measure, measure_data, report_period
from .measures import (
    attribution,
    coverage_share,
    installs_of,
    measure_conversion,
    measure_coverage,
    measure_reach,
    measure_team_training,
    pacing,
)
from .result import AttributionSummary, KpiResult, Leaderboard, LeaderboardRow, Measurement, Pacing
from .signup_cache import SignupCache
from .stores import attribution_window_days, measure_stores

__all__ = [
    "AttributionSummary",
    "Compliance",
    "Kpi",
    "KpiData",
    "KpiResult",
    "Leaderboard",
    "LeaderboardRow",
    "Measurement",
    "Pacing",
    "ReachFact",
    "SignupCache",
    "SignupFact",
    "ZALO_LIMIT",
    "attribution",
    "attribution_window_days",
    "compliance_of",
    "coverage_share",
    "installs_of",
    "leaderboard",
    "leaderboard_csv",
    "load_data",
    "measure",
    "measure_conversion",
    "measure_coverage",
    "measure_data",
    "measure_reach",
    "measure_stores",
    "measure_team_training",
    "pacing",
    "report_period",
    "store_paths",
    "write_leaderboard_csv",
    "write_leaderboard_xlsx",
    "zalo_messages",
]
