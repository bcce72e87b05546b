"""The KPI contract: what every KPI kind (built-in or a plugin's) implements.

A KPI class is registered with ``register_kpis`` and built from its ``[targets.<key>]``
table by ``from_config`` (``langson_comms.config.FromTable`` does it).  To be measured it
also implements::

    def measure(self, data: KpiData, period: Period) -> KpiResult

computing from ``data`` only (never opening a store, never reading the clock), for the
days of ``period`` up to ``data.as_of``.  The ``key`` of the result it returns is
replaced by the target's key; ``kind`` should be the class's ``name``.  A target whose
class has no ``measure`` is listed by ``describe()`` only.
``langson_comms.testing.KpiContract`` checks a KPI class against this contract.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..campaign import Period
from .data import KpiData
from .result import KpiResult

__all__ = ["Kpi"]


@runtime_checkable
class Kpi(Protocol):
    """A measurable KPI (see the module's docstring)."""

    def measure(self, data: KpiData, period: Period) -> KpiResult: ...
