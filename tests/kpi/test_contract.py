"""Every built-in KPI kind, and a third-party KPI defined here, pass the kit's KPI contract."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from langson_comms import hookimpl
from langson_comms.campaign import Period
from langson_comms.config import FromTable
from langson_comms.default_plugins import kpis
from langson_comms.kpi import KpiData, KpiResult, installs_of
from langson_comms.testing.kpi_contract import KpiContract, contract_data


class TestReach(KpiContract):
    contributed_class = kpis.ReachTarget
    example_config: ClassVar[dict[str, Any]] = {"target": 1000}
    plugin = kpis


class TestConversion(KpiContract):
    contributed_class = kpis.ConversionTarget
    example_config: ClassVar[dict[str, Any]] = {"per_reaches": 500}
    plugin = kpis


class TestCoverage(KpiContract):
    contributed_class = kpis.CoverageTarget
    example_config: ClassVar[dict[str, Any]] = {"target_percent": 100, "population": 1000}
    plugin = kpis


class TestTeamTraining(KpiContract):
    contributed_class = kpis.TeamTrainingTarget
    example_config: ClassVar[dict[str, Any]] = {"target_percent": 100}
    plugin = kpis


class TestLeaderboard(KpiContract):
    contributed_class = kpis.LeaderboardTarget
    example_config: ClassVar[dict[str, Any]] = {}
    plugin = kpis


@attrs.frozen
class SellerTarget(FromTable):
    """A third party's KPI: sellers registered on the marketplaces."""

    name: ClassVar[str] = "sellers"
    target: int = 10

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        sellers = installs_of(data.signups, period, data.as_of, kinds=("seller_registered",))
        by_day: dict[str, float] = {}
        for s in sellers:
            by_day[s.day] = by_day.get(s.day, 0) + 1
        return KpiResult(key="", kind=self.name, value=float(len(sellers)), target=float(self.target),
                         unit="sellers", method="sign-ups of kind seller_registered",
                         breakdowns={"day": by_day})


class SellerPlugin:
    @hookimpl
    def register_kpis(self) -> list[type[Any]]:
        return [SellerTarget]


class TestThirdPartyKpi(KpiContract):
    contributed_class = SellerTarget
    example_config: ClassVar[dict[str, Any]] = {"target": 5}
    plugin = SellerPlugin()


def test_third_party_kpi_counts_its_kind() -> None:
    data = contract_data()
    period = Period(data.campaign.period.start, data.as_of)
    assert SellerTarget().measure(data, period).value == 0
