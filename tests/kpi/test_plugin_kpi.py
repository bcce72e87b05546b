"""A third-party KPI that fails inside ``measure()`` is named (review11)."""

from __future__ import annotations

from typing import ClassVar

import attrs
import pendulum
import pytest

from langson_comms import FrozenClock
from langson_comms.campaign import KpiTarget, Period
from langson_comms.errors import PluginError
from langson_comms.kpi import KpiData, KpiResult, measure_data
from langson_comms.testing.kpi_contract import contract_data

PERIOD = Period(pendulum.date(2022, 7, 1), pendulum.date(2022, 7, 5))
CLOCK = FrozenClock(pendulum.datetime(2022, 7, 5, 18, tz="Asia/Ho_Chi_Minh"))


class Broken:
    name: ClassVar[str] = "broken_kpi"

    def measure(self, data: KpiData, period: Period) -> KpiResult:
        return KpiResult(key="", kind=self.name, value=1 / len(data.signups[:0]), target=1.0, unit="x",
                         method="divides by nothing")


class NotAResult:
    name: ClassVar[str] = "not_a_result"

    def measure(self, data: KpiData, period: Period) -> object:
        return {"value": 1}


@pytest.mark.parametrize(("kpi", "says"), [
    (Broken(), "raised in measure(): ZeroDivisionError"),
    (NotAResult(), "returned dict, not a KpiResult"),
])
def test_a_kpi_that_fails_in_measure_is_named(kpi: object, says: str) -> None:
    """Before: "unexpected ZeroDivisionError … (run with --debug)", naming no target and no
    plugin; a ``dict`` went on to break a renderer."""
    data = contract_data()
    campaign = attrs.evolve(data.campaign, targets={"mine": KpiTarget("mine", type(kpi).name, kpi)})  # type: ignore[attr-defined]
    with pytest.raises(PluginError) as info:
        measure_data(attrs.evolve(data, campaign=campaign), PERIOD, CLOCK)
    message = str(info.value)
    assert "target 'mine'" in message and f"{type(kpi).__module__}.{type(kpi).__qualname__}" in message
    assert says in message
