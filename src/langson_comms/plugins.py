"""Building a plugin manager: built-ins, entry points, allow and block lists.

There is no module-global manager: each ``Runtime`` (or test) builds its own with
``make_plugin_manager``.  Built-in plugins in ``DEFAULT_PLUGINS`` are registered by the
same ``pm.register`` call as third-party entry points, before them, so a third party's
implementation of a ``firstresult`` hook runs first and a third party's class can
override a built-in one (see ``registry``).

Environment variables (comma-separated plugin names):

* ``LANGSON_COMMS_PLUGINS`` — load only these entry-point plugins (built-ins still load);
* ``LANGSON_COMMS_BLOCK_PLUGINS`` — never load these (built-in names work too).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = [
    "ALLOW_ENV",
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "check_pending",
    "make_plugin_manager",
    "plugin_hooks",
    "plugin_name",
    "register_plugin",
]

ENTRY_POINT_GROUP = "langson_comms"
ALLOW_ENV = "LANGSON_COMMS_PLUGINS"
BLOCK_ENV = "LANGSON_COMMS_BLOCK_PLUGINS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "langson_comms.default_plugins.channels",
    "langson_comms.default_plugins.kpis",
    "langson_comms.default_plugins.sms_policies",
    "langson_comms.default_plugins.sms",
    "langson_comms.default_plugins.broadcast",
    "langson_comms.default_plugins.signups",
)


def _names(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def make_plugin_manager(
    *,
    allow: Iterable[str] | None = None,
    block: Iterable[str] = (),
    entry_points: bool = True,
    plugins: Iterable[object] = (),
    env: Mapping[str, str] | None = None,
) -> pluggy.PluginManager:
    """Return a new plugin manager with built-ins, entry points and ``plugins`` registered.

    ``allow``/``block`` add to the environment's lists.  Raises ``PluginError`` naming
    the plugin when one fails to import, registers twice, or implements a hook that
    does not exist.
    """
    env = os.environ if env is None else env
    allowed = _names(env.get(ALLOW_ENV))
    if allow is not None:
        allowed = (allowed or set()) | set(allow)
    blocked = (_names(env.get(BLOCK_ENV)) or set()) | set(block)

    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)

    for module_name in DEFAULT_PLUGINS:
        if module_name in blocked:
            continue
        _register(pm, importlib.import_module(module_name), module_name)

    if entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            if ep.name in blocked or (allowed is not None and ep.name not in allowed):
                continue
            dist = ep.dist.name if ep.dist is not None else "?"
            try:
                obj = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {ep.name!r} (distribution {dist}) failed to import "
                    f"{ep.value}: {type(exc).__name__}: {exc}",
                    plugin=ep.name,
                ) from exc
            _register(pm, obj, ep.name)

    for obj in plugins:
        if plugin_name(obj) not in blocked:
            register_plugin(pm, obj)

    check_pending(pm)
    return pm


def _ep_key(ep: importlib.metadata.EntryPoint) -> str:
    return ep.name


def plugin_name(obj: object) -> str:
    """The default name of a plugin object: a module's name, else its class's qualified name."""
    if isinstance(obj, ModuleType):
        return obj.__name__
    return getattr(obj, "__name__", None) or f"{type(obj).__module__}.{type(obj).__qualname__}"


def register_plugin(pm: pluggy.PluginManager, obj: object, name: str | None = None) -> str:
    """Register ``obj`` under ``name`` (default: ``plugin_name(obj)``); return the name."""
    name = name or plugin_name(obj)
    _register(pm, obj, name)
    return name


def _register(pm: pluggy.PluginManager, obj: object, name: str) -> None:
    if pm.has_plugin(name) or pm.is_registered(obj):
        raise PluginError(f"plugin {name!r} is registered twice", plugin=name)
    try:
        pm.register(obj, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {name!r} is invalid: {exc}", plugin=name) from exc


def check_pending(pm: pluggy.PluginManager) -> None:
    """Fail when a plugin implements a hook that no spec declares (a misspelled name)."""
    known = sorted(name for name in dir(hookspecs) if name.startswith("register_"))
    for hook_name, caller in vars(pm.hook).items():
        if hook_name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            close = difflib.get_close_matches(hook_name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PluginError(
                f"plugin {impl.plugin_name!r} implements unknown hook {hook_name!r}{hint}",
                plugin=impl.plugin_name,
            )


def plugin_hooks(pm: pluggy.PluginManager) -> dict[str, list[str]]:
    """Map each registered plugin name to the sorted hooks it implements."""
    result: dict[str, list[str]] = {name: [] for name, _ in pm.list_name_plugin()}
    for hook_name, caller in vars(pm.hook).items():
        if hook_name.startswith("_"):
            continue
        for impl in caller.get_hookimpls():
            result.setdefault(impl.plugin_name, []).append(hook_name)
    return {name: sorted(hooks) for name, hooks in result.items()}


def plugin_module(plugin: Any) -> str:
    """The module name of a plugin object, for messages."""
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return type(plugin).__module__
