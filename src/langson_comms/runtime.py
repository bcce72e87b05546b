"""The object that holds a campaign run: its own plugin manager, registry and clock.

There is no global state: two ``Runtime`` objects in one process (or one test) never
see each other's plugins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pluggy

from .campaign import Campaign
from .campaign_file import build_campaign, load_campaign
from .clock import Clock, SystemClock
from .plugins import make_plugin_manager
from .registry import Registry

__all__ = ["Runtime"]


@attrs.define
class Runtime:
    """Plugins, contributed classes and the clock for one campaign run."""

    plugin_manager: pluggy.PluginManager
    registry: Registry
    clock: Clock = attrs.field(factory=SystemClock)

    @classmethod
    def create(
        cls,
        *,
        clock: Clock | None = None,
        plugins: Iterable[object] = (),
        allow: Iterable[str] | None = None,
        block: Iterable[str] = (),
        entry_points: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Runtime:
        """Build a runtime: built-ins, installed entry points (filtered) and ``plugins``."""
        pm = make_plugin_manager(
            allow=allow, block=block, entry_points=entry_points, plugins=plugins, env=env
        )
        return cls(
            plugin_manager=pm,
            registry=Registry.from_plugin_manager(pm),
            clock=clock or SystemClock(),
        )

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register one more plugin, check its hook names and refresh the registry."""
        from .plugins import check_pending, register_plugin

        registered = register_plugin(self.plugin_manager, plugin, name)
        try:
            check_pending(self.plugin_manager)
            self.registry = Registry.from_plugin_manager(self.plugin_manager)
        except Exception:
            self.plugin_manager.unregister(name=registered)
            raise
        return registered

    def unregister(self, name: str) -> None:
        """Remove a plugin by name and refresh the registry."""
        self.plugin_manager.unregister(name=name)
        self.registry = Registry.from_plugin_manager(self.plugin_manager)

    def load_campaign(self, path: str | Path) -> Campaign:
        """Load and check a campaign file with this runtime's plugins."""
        return load_campaign(path, self.registry)

    def build_campaign(self, data: Mapping[str, Any], *, source: str = "<python>",
                       base_dir: str | Path | None = None) -> Campaign:
        """Check and build a campaign from Python values shaped like the campaign file,
        with this runtime's plugins; problems name the attribute (``campaign.end``)."""
        return build_campaign(data, self.registry, source=source, base_dir=base_dir)
