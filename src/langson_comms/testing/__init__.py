"""The test kit for plugin authors.

Installed with langson_comms and loaded by pytest through the ``pytest11`` entry point,
so these fixtures are available in any project that has langson_comms installed:

* ``runtime`` — a fresh ``Runtime`` with the built-in plugins only (no entry points) and
  a ``FrozenClock`` at 2022-07-01 09:00 Asia/Ho_Chi_Minh;
* ``register_plugin`` — ``register_plugin(obj, name=None)`` adds a plugin to that runtime
  for one test (hook names checked, registry refreshed);
* ``plugin_manager`` — that runtime's pluggy manager;
* ``frozen_clock`` — the runtime's clock, to move with ``advance()``/``set()``;
* ``config_context`` — a ``ConfigContext`` rooted in the test's ``tmp_path``;
* ``carrier_simulator`` — ``carrier_simulator(**options)`` starts a carrier simulator
  (a real HTTP server on 127.0.0.1) for one test; see docs/sms-dispatch.md.
* ``postgres_server`` (session) — a throwaway PostgreSQL server on 127.0.0.1
  (``testing.postgres.ThrowawayPostgres``; skipped without PostgreSQL binaries unless
  ``LANGSON_REQUIRE_POSTGRES=1``); ``postgres_url`` — a new empty database on it per test;
  see docs/postgresql.md.

``langson_comms.testing.secrets``: ``assert_no_secret_leaks``, ``debug_logs`` and
``check_send_keeps_secret`` check that a credential is in no log, output, ledger or
report (docs/testing-plugins.md, "Secrets").

``langson_comms.testing.loopback``: the generic part of a carrier simulator
(``serve_loopback``, ``ThreadedServer``, ``ServerThread``, ``Throttle``) and of a kill -9 test
(``kill_sender``) (docs/testing-plugins.md, "Your own carrier simulator").

Contract-test mixins live in ``langson_comms.testing.contracts`` (activity channels:
``ActivityChannelContract``): subclass one in a
``Test…`` class, set the class attributes it asks for, and pytest runs the contract
against your class.
"""

from __future__ import annotations

from ..clock import FrozenClock

# contracts first: the kind-specific mixins import ContributionContract from it
from .contracts import ContributionContract  # isort: skip
from .activity_contract import ActivityChannelContract
from .gateway_contract import GatewayContract
from .kpi_contract import KpiContract
from .loopback import ServerThread, ThreadedServer, Throttle, kill_sender, serve_loopback
from .scheduler_contract import SchedulerContract
from .secrets import assert_no_secret_leaks, check_send_keeps_secret, debug_logs
from .signup_contract import SignupSourceContract
from .simulator import CarrierSimulator, SimulatorConfig

__all__ = [
    "ActivityChannelContract",
    "CarrierSimulator",
    "ContributionContract",
    "FrozenClock",
    "GatewayContract",
    "KpiContract",
    "SchedulerContract",
    "ServerThread",
    "SignupSourceContract",
    "SimulatorConfig",
    "ThreadedServer",
    "Throttle",
    "assert_no_secret_leaks",
    "check_send_keeps_secret",
    "debug_logs",
    "kill_sender",
    "serve_loopback",
]
