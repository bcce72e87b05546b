"""``langson-comms plugins``: what is loaded, which hooks each plugin implements, what it registers."""

from __future__ import annotations

import importlib.metadata
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ..plugins import DEFAULT_PLUGINS, ENTRY_POINT_GROUP, plugin_hooks, plugin_module
from ..runtime import Runtime


def describe_plugins(runtime: Runtime) -> list[dict[str, Any]]:
    pm = runtime.plugin_manager
    hooks = plugin_hooks(pm)
    registered = runtime.registry.by_plugin()
    dists = {
        ep.name: ep.dist
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if pm.has_plugin(ep.name)
    }
    result = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: str(item[0])):
        dist = dists.get(name)
        registers: dict[str, list[str]] = {}
        overrides: list[str] = []
        for entry in registered.get(name, []):
            registers.setdefault(entry.kind, []).append(entry.name)
            if entry.replaced:
                overrides.append(f"{entry.kind} {entry.name!r} of {entry.replaced}")
        result.append(
            {
                "name": name,
                "module": plugin_module(plugin),
                "builtin": name in DEFAULT_PLUGINS,
                "distribution": f"{dist.name} {dist.version}" if dist else None,
                "hooks": hooks.get(name, []),
                "registers": {kind: sorted(names) for kind, names in registers.items()},
                "overrides": overrides,
            }
        )
    return result


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_obj
def plugins(runtime: Runtime, as_json: bool) -> None:
    """List loaded plugins, the hooks they implement and the names they register."""
    described = describe_plugins(runtime)
    if as_json:
        click.echo(json.dumps(described, indent=2, ensure_ascii=False))
        return
    table = Table("plugin", "hooks", "registers")
    for item in described:
        label = item["name"] + (f"\n[dim]{item['distribution']}[/dim]" if item["distribution"] else "")
        regs = "\n".join(f"{kind}: {', '.join(names)}" for kind, names in item["registers"].items())
        table.add_row(label, "\n".join(item["hooks"]), regs)
    Console().print(table)
