"""The test kit reaches third parties through the pytest11 entry point, with no imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

THIRD_PARTY_TEST = '''
import httpx
from langson_comms import hookimpl


class Extra:
    name = "extra"

    @classmethod
    def from_config(cls, config, context):
        return cls()


class Plugin:
    @hookimpl
    def register_channels(self):
        return [Extra]


def test_fixtures_come_from_the_installed_kit(runtime, register_plugin, frozen_clock, carrier_simulator):
    register_plugin(Plugin(), name="third-party")
    assert runtime.registry.get("channel", "extra") is Extra
    assert runtime.clock is frozen_clock
    before = frozen_clock.now()
    frozen_clock.advance(minutes=5)
    assert (frozen_clock.now() - before).in_seconds() == 300
    sim = carrier_simulator()
    assert sim.url.startswith("http://127.0.0.1:")
'''


def test_a_third_party_suite_gets_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_third_party.py").write_text(THIRD_PARTY_TEST, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_contracts_re_exports_every_contract_mixin() -> None:
    """``langson_comms.testing.contracts`` is the one place its docstring and
    docs/testing-plugins.md send plugin authors: every ``…Contract`` mixin of the kit is
    importable from there (before, only ``ContributionContract`` was)."""
    import importlib
    import pkgutil

    import langson_comms.testing as kit
    from langson_comms.testing import contracts

    found = {}
    for info in pkgutil.iter_modules(kit.__path__):
        module = importlib.import_module(f"{kit.__name__}.{info.name}")
        for name, value in vars(module).items():
            if (name.endswith("Contract") and isinstance(value, type)
                    and value.__module__ == module.__name__):
                found[name] = value
    assert {"ContributionContract", "GatewayContract", "SchedulerContract"} <= set(found)
    for name, cls in found.items():
        assert getattr(contracts, name, None) is cls, f"contracts does not re-export {name}"
        assert name in contracts.__all__, name
    # a fresh interpreter importing a kind's own module first still works (no import cycle)
    for first in ("gateway_contract", "scheduler_contract", "contracts"):
        subprocess.run([sys.executable, "-c", f"import langson_comms.testing.{first}"],
                       check=True, timeout=60)
