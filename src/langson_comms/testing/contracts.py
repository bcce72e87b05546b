"""Contract-test mixins: hold a plugin's classes to the same bar as the built-ins.

Usage, in a plugin's tests::

    from langson_comms.testing.contracts import ContributionContract

    class TestMyChannel(ContributionContract):
        contributed_class = MyChannel
        kind = "channel"
        example_config = {"template_id": "123", "message": "value"}

Kind-specific mixins (gateways, broadcast schedulers) extend ``ContributionContract``
in ``gateway_contract`` and ``scheduler_contract``, and are re-exported here: import
every mixin from this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..config import ConfigContext
from ..errors import ConfigError
from ..registry import KINDS, Registry
from ..runtime import Runtime

__all__ = [
    "ActivityChannelContract",
    "ContributionContract",
    "GatewayContract",
    "KpiContract",
    "SchedulerContract",
    "SignupSourceContract",
]


class ContributionContract:
    """What every contributed class must do: a name, ``from_config``, located errors."""

    contributed_class: ClassVar[type[Any]]
    kind: ClassVar[str]
    example_config: ClassVar[Mapping[str, Any]] = {}
    #: the plugin object (module) that registers the class; None to skip the registry check
    plugin: ClassVar[object | None] = None

    def make_context(self, tmp_path: Path) -> ConfigContext:
        """The ``ConfigContext`` every ``from_config`` call of the contract gets.

        Rooted in the test's ``tmp_path`` under the key ``under_test``; override it when
        the class under test needs files beside the campaign file or a registry.
        """
        return ConfigContext(source="campaign.toml", base_dir=tmp_path, key="under_test")

    def build(self, tmp_path: Path, config: Mapping[str, Any] | None = None) -> Any:
        """``contributed_class.from_config(config or example_config, make_context(tmp_path))``."""
        return self.contributed_class.from_config(
            dict(self.example_config if config is None else config), self.make_context(tmp_path)
        )

    def test_has_a_name(self) -> None:
        name = getattr(self.contributed_class, "name", None)
        assert isinstance(name, str) and name, "contributed classes need a non-empty str name"
        assert self.kind in KINDS, f"kind must be one of {sorted(KINDS)}"

    def test_builds_from_example_config(self, tmp_path: Path) -> None:
        assert isinstance(self.build(tmp_path), self.contributed_class)

    def test_unknown_key_is_a_located_error(self, tmp_path: Path) -> None:
        config = {**self.example_config, "no_such_key_xyz": 1}
        with pytest.raises(ConfigError) as info:
            self.build(tmp_path, config)
        assert "under_test" in str(info.value) and "no_such_key_xyz" in str(info.value)

    def test_registered_through_its_plugin(self, runtime: Runtime) -> None:
        if self.plugin is None:
            pytest.skip("set `plugin` to check registration")
        if not runtime.plugin_manager.is_registered(self.plugin):
            runtime.register(self.plugin)
        registry: Registry = runtime.registry
        assert registry.get(self.kind, self.contributed_class.name) is self.contributed_class


# The kind-specific mixins import ContributionContract from this module: it is defined
# above, so they are imported last (the package imports this module first).
from .activity_contract import ActivityChannelContract  # noqa: E402
from .gateway_contract import GatewayContract  # noqa: E402
from .kpi_contract import KpiContract  # noqa: E402
from .scheduler_contract import SchedulerContract  # noqa: E402
from .signup_contract import SignupSourceContract  # noqa: E402
