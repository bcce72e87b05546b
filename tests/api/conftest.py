"""Fixtures for the public API tests: loopback carrier simulators."""

from __future__ import annotations

from langson_comms.testing.simulator import carrier_simulator  # noqa: F401  (fixture)
