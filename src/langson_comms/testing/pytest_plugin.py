"""pytest fixtures of the test kit (loaded through the ``pytest11`` entry point)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pluggy
import pytest

from ..clock import FrozenClock
from ..config import ConfigContext
from ..runtime import Runtime
from .postgres import POSTGRES_REQUIRED_ENV, PostgresUnavailable, ThrowawayPostgres
from .simulator import carrier_simulator

__all__ = ["carrier_simulator", "config_context", "frozen_clock", "plugin_manager", "postgres_server",
           "postgres_url", "register_plugin", "runtime"]

#: where the test kit's frozen clock starts: the first airing day of the reference plan
FROZEN_START = "2022-07-01T09:00:00"


@pytest.fixture
def frozen_clock() -> FrozenClock:
    """A clock standing at 2022-07-01 09:00 Asia/Ho_Chi_Minh until moved."""
    return FrozenClock(FROZEN_START)


@pytest.fixture
def runtime(frozen_clock: FrozenClock) -> Runtime:
    """A fresh runtime: built-in plugins only (no entry points), the frozen clock."""
    return Runtime.create(clock=frozen_clock, entry_points=False, env={})


@pytest.fixture
def plugin_manager(runtime: Runtime) -> pluggy.PluginManager:
    """The fresh runtime's own plugin manager."""
    return runtime.plugin_manager


@pytest.fixture
def register_plugin(runtime: Runtime) -> Iterator[Callable[..., str]]:
    """``register_plugin(obj, name=None)``: add a plugin to ``runtime`` for this test."""
    names: list[str] = []

    def register(plugin: object, name: str | None = None) -> str:
        registered = runtime.register(plugin, name)
        names.append(registered)
        return registered

    yield register
    for name in reversed(names):
        if runtime.plugin_manager.has_plugin(name):
            runtime.unregister(name)


@pytest.fixture
def config_context(tmp_path: Path) -> ConfigContext:
    """A configuration context for ``from_config`` calls, rooted in ``tmp_path``."""
    return ConfigContext(source="campaign.toml", base_dir=tmp_path, key="test")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """A throwaway PostgreSQL server for the session (``testing.postgres``), on 127.0.0.1
    and a free port, stopped at the end.  Without PostgreSQL binaries the tests using it
    are skipped with the reason -- or fail, when ``LANGSON_REQUIRE_POSTGRES=1`` (CI)."""
    try:
        server = ThrowawayPostgres().start()
    except PostgresUnavailable as exc:
        if os.environ.get(POSTGRES_REQUIRED_ENV) == "1":
            pytest.fail(f"PostgreSQL is required ({POSTGRES_REQUIRED_ENV}=1): {exc}")
        pytest.skip(f"no PostgreSQL server for these tests: {exc}")
    try:
        yield server
    finally:
        server.stop()


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: ThrowawayPostgres) -> str:
    """The URL of a new, empty database on the session's throwaway server (one per test)."""
    return postgres_server.create_database(f"test_{os.getpid()}_{next(_databases)}")
