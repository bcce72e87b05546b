"""pytest fixtures of the test kit (loaded through the ``pytest11`` entry point)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pluggy
import pytest

from ..clock import FrozenClock
from ..config import ConfigContext
from ..runtime import Runtime
from .simulator import carrier_simulator

__all__ = ["carrier_simulator", "config_context", "frozen_clock", "plugin_manager", "register_plugin", "runtime"]

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
