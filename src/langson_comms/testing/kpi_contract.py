"""Contract tests for KPI plugins (``register_kpis``).

Usage::

    from langson_comms.testing.kpi_contract import KpiContract

    class TestMyKpi(KpiContract):
        contributed_class = MyKpi
        example_config = {"target": 100}
        plugin = my_plugin_module          # optional: checks registration

The contract measures the KPI on the kit's small campaign (``contract_data()``: three
teams in two districts, ten days, sign-ups and reach records of two channels) and
checks what ``langson_comms.kpi.Kpi`` promises:

* ``measure(data, period)`` returns a ``KpiResult`` whose ``kind`` is the class's name,
  whose value is finite and whose ``progress`` is value / target;
* breakdowns use the known dimensions (``day``, ``channel``, ``district``, ``commune``,
  ``team``, ``platform``, ``kind``) with finite values;
* ``as_dict()`` is JSON;
* measuring twice gives the same result, and the data of days after ``as_of`` or before
  the period changes nothing (a KPI measures the period up to ``as_of`` only);
* empty data measures without error.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pendulum

from ..campaign import Campaign, Period, Team, TeamMember
from ..kpi import KpiData, KpiResult, ReachFact, SignupFact
from ..kpi.result import DIMENSIONS
from ..regions import Region, RegionRegistry
from .contracts import ContributionContract

__all__ = ["KpiContract", "contract_data", "contract_kpi_campaign"]

TZ = "Asia/Ho_Chi_Minh"


def contract_kpi_campaign() -> Campaign:
    """Province 20; districts 21 (communes 100, 200) and 22 (commune 300); teams T100
    (2 of 2 members trained), T200 (1 of 2), T300 (0 of 1); 2022-07-01 to 2022-07-10."""
    regions = RegionRegistry([
        Region("20", "Tỉnh Thử", "province"),
        Region("21", "Huyện Một", "district", "20"),
        Region("22", "Huyện Hai", "district", "20"),
        Region("100", "Xã Một", "commune", "21"),
        Region("200", "Xã Hai", "commune", "21"),
        Region("300", "Xã Ba", "commune", "22"),
    ])
    teams = (
        Team("T100", "Tổ Xã Một", "100", (TeamMember("A", True), TeamMember("B", True))),
        Team("T200", "Tổ Xã Hai", "200", (TeamMember("C", True), TeamMember("D", False))),
        Team("T300", "Tổ Xã Ba", "300", (TeamMember("E", False),)),
    )
    period = Period(pendulum.date(2022, 7, 1), pendulum.date(2022, 7, 10))
    return Campaign(id="kpi-contract", title="KPI contract", period=period, regions=regions,
                    teams=teams, province_code="20")


def _at(day: int, hour: int) -> float:
    return pendulum.datetime(2022, 7, day, hour, tz=TZ).timestamp() if day > 0 else \
        pendulum.datetime(2022, 6, 30 + day, hour, tz=TZ).timestamp()


def signup(day: int, hour: int, team: str | None, commune: str | None, *, kind: str = "install",
           platform: str = "cong_dan_so_xu_lang", phone_hash: str | None = None) -> SignupFact:
    """A sign-up fact on 2022-07-``day`` (``day`` ≤ 0: June 30 + day) at ``hour`` local time."""
    stamp = _at(day, hour)
    local = pendulum.from_timestamp(stamp, tz=TZ).date().isoformat()
    rule = "team_code" if team else "unattributed"
    return SignupFact(platform, kind, stamp, local, phone_hash, commune, team, rule)


def contract_data(as_of: pendulum.Date | None = None) -> KpiData:
    """The kit's hand-built data (the answers are worked out in tests/kpi/test_measures.py)."""
    campaign = contract_kpi_campaign()
    signups = [
        signup(1, 10, "T100", "100", phone_hash="h1"),
        signup(2, 10, "T100", "100", phone_hash="h2"),
        signup(5, 9, "T200", "200", phone_hash="h3"),
        signup(5, 11, "T300", "300", kind="account_opened", platform="mbbank"),
        signup(5, 15, None, None),
        signup(6, 10, "T300", "300"),
    ]
    reach = [
        ReachFact("sms", "2022-07-01", 200, "delivered SMS", "21"),
        ReachFact("sms", "2022-07-03", 100, "delivered SMS", "22"),
        ReachFact("radio", "2022-07-02", 300, "airings × listeners", "21", "100"),
        ReachFact("radio", "2022-07-05", 100, "airings × listeners", "22"),
        ReachFact("radio", "2022-07-06", 999, "airings × listeners", "22"),
    ]
    deliveries = {"h1": [_at(0, 10)], "h2": [_at(-10, 10)], "h3": [_at(5, 12)]}
    return KpiData(campaign=campaign, as_of=as_of or pendulum.date(2022, 7, 5), signups=signups,
                   reach=reach, sms_deliveries=deliveries, distinct_channels=("sms",))


class KpiContract(ContributionContract):
    """Mix into a ``Test…`` class; set ``contributed_class`` and ``example_config``."""

    kind: ClassVar[str] = "kpi"

    def kpi(self, tmp_path: Path) -> Any:
        return self.build(tmp_path)

    def period(self, data: KpiData) -> Period:
        return Period(data.campaign.period.start, data.as_of)

    def _measure(self, tmp_path: Path, data: KpiData) -> KpiResult:
        result = self.kpi(tmp_path).measure(data, self.period(data))
        assert isinstance(result, KpiResult), f"measure() returned {type(result).__name__}, not KpiResult"
        return result

    def test_measures_a_kpi_result(self, tmp_path: Path) -> None:
        result = self._measure(tmp_path, contract_data())
        assert result.kind == self.contributed_class.name
        assert math.isfinite(result.value)
        assert result.method.strip(), "say the method in words"
        if result.target:
            assert result.progress == result.value / result.target

    def test_breakdowns_use_known_dimensions(self, tmp_path: Path) -> None:
        result = self._measure(tmp_path, contract_data())
        for dimension, values in result.breakdowns.items():
            assert dimension in DIMENSIONS, f"{dimension!r} is not one of {DIMENSIONS}"
            assert all(math.isfinite(v) for v in values.values())

    def test_as_dict_is_json(self, tmp_path: Path) -> None:
        json.dumps(self._measure(tmp_path, contract_data()).as_dict(), allow_nan=False)

    def test_same_data_same_result(self, tmp_path: Path) -> None:
        assert self._measure(tmp_path, contract_data()) == self._measure(tmp_path, contract_data())

    def test_days_outside_the_period_change_nothing(self, tmp_path: Path) -> None:
        data = contract_data()
        late = [signup(7, 10, "T100", "100"), signup(-2, 10, "T200", "200")]
        later = attrs.evolve(
            data, signups=[*data.signups, *late],
            reach=[*data.reach, ReachFact("radio", "2022-07-09", 5_000, "late"),
                   ReachFact("radio", "2022-06-20", 5_000, "early")],
        )
        assert self._measure(tmp_path, later).value == self._measure(tmp_path, data).value

    def test_empty_data_measures(self, tmp_path: Path) -> None:
        data = attrs.evolve(contract_data(), signups=[], reach=[], sms_deliveries=None)
        assert math.isfinite(self._measure(tmp_path, data).value)
