"""The names plugins contribute: which class answers to which ``kind`` and ``name``.

The registry calls each ``register_<plural>`` implementation one plugin at a time, so a
plugin that raises is named, and so are both plugins when two classes claim one name.
A third-party class replaces a built-in of the same name only when it says so with
``override = True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pluggy

from .errors import PluginError, UnknownNameError
from .plugins import DEFAULT_PLUGINS, INSTALL_HINT

__all__ = ["KINDS", "Registered", "Registry"]

#: contribution kind -> the hook that contributes it
KINDS: dict[str, str] = {
    "channel": "register_channels",
    "sms_gateway": "register_sms_gateways",
    "broadcast_scheduler": "register_broadcast_schedulers",
    "signup_source": "register_signup_sources",
    "policy": "register_policies",
    "kpi": "register_kpis",
}


@attrs.frozen
class Registered:
    """One contributed class: its ``kind``, ``name``, the class, and the plugin that gave it."""

    kind: str
    name: str
    cls: type[Any]
    plugin: str
    replaced: str | None = None

    @property
    def qualname(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


class Registry:
    """Every contributed class, by kind and name."""

    def __init__(self, entries: dict[str, dict[str, Registered]]) -> None:
        self._entries = entries

    @classmethod
    def from_plugin_manager(cls, pm: pluggy.PluginManager) -> Registry:
        entries: dict[str, dict[str, Registered]] = {kind: {} for kind in KINDS}
        for kind, hook_name in KINDS.items():
            caller = getattr(pm.hook, hook_name)
            # get_hookimpls() lists implementations in registration order (built-ins first).
            for impl in caller.get_hookimpls():
                try:
                    classes = impl.function()
                except Exception as exc:
                    raise PluginError(
                        f"plugin {impl.plugin_name!r} raised in {hook_name}(): "
                        f"{type(exc).__name__}: {exc}",
                        plugin=impl.plugin_name,
                    ) from exc
                for contributed in classes or ():
                    _add(entries[kind], kind, hook_name, contributed, impl.plugin_name)
        return cls(entries)

    def get(self, kind: str, name: str) -> type[Any]:
        """The class registered as ``name`` for ``kind``; ``UnknownNameError`` lists the known ones."""
        try:
            return self._entries[kind][name].cls
        except KeyError:
            raise UnknownNameError(self.unknown_name(kind, name)) from None

    def unknown_name(self, kind: str, name: str) -> str:
        """The message for a ``name`` no class of ``kind`` answers to: the known names,
        and the hint that its plugin may not be installed (``INSTALL_HINT``)."""
        known = ", ".join(sorted(self._entries.get(kind, {}))) or "none"
        return f"no {kind} named {name!r} (known: {known}); {INSTALL_HINT}"

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def __iter__(self) -> Iterator[Registered]:
        for kind in KINDS:
            yield from self._entries[kind].values()

    def by_plugin(self) -> dict[str, list[Registered]]:
        result: dict[str, list[Registered]] = {}
        for entry in self:
            result.setdefault(entry.plugin, []).append(entry)
        return result


def _add(
    table: dict[str, Registered], kind: str, hook_name: str, contributed: Any, plugin: str
) -> None:
    name = getattr(contributed, "name", None)
    if not isinstance(contributed, type) or not isinstance(name, str) or not name:
        raise PluginError(
            f"plugin {plugin!r} returned {contributed!r} from {hook_name}(): expected a class "
            "with a non-empty str attribute 'name'",
            plugin=plugin,
        )
    if not callable(getattr(contributed, "from_config", None)):
        raise PluginError(
            f"plugin {plugin!r}: {kind} class {contributed.__qualname__} has no from_config() "
            "classmethod",
            plugin=plugin,
        )
    entry = Registered(kind=kind, name=name, cls=contributed, plugin=plugin)
    existing = table.get(name)
    if existing is not None:
        overrides = getattr(contributed, "override", False) is True
        builtin = existing.plugin in DEFAULT_PLUGINS
        if not (overrides and builtin):
            if builtin:
                hint = " (set override = True to replace a built-in)"
            elif overrides:
                hint = (" (override = True only replaces a built-in: two third-party plugins"
                        " cannot share a name; rename one, or block one with"
                        " LANGSON_COMMS_BLOCK_PLUGINS)")
            else:
                hint = (" (two third-party plugins cannot share a name: rename one, or"
                        " block one with LANGSON_COMMS_BLOCK_PLUGINS)")
            raise PluginError(
                f"two {kind} classes are named {name!r}: {existing.qualname} from plugin "
                f"{existing.plugin!r} and {entry.qualname} from plugin {plugin!r}{hint}",
                plugin=plugin,
            )
        entry = attrs.evolve(entry, replaced=existing.plugin)
    table[name] = entry
