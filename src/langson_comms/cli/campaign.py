"""``langson-comms validate``: check a campaign file and summarise it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .. import api
from ..runtime import Runtime
from .options import campaign_option


@click.command()
@campaign_option(positional=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def validate(runtime: Runtime, campaign: Path, as_json: bool) -> None:
    """Check the campaign file and print a short summary."""
    loaded = api.load_campaign(campaign, runtime=runtime)
    summary = api.summarise_campaign(loaded).as_dict()
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    # User text is printed as Text, never read as markup, and nothing is highlighted:
    # rich's highlighter took 64 s on a 100 KB title.
    console = Console(highlight=False)
    period = summary["period"]
    console.print(Text.assemble((loaded.title, "bold"), f" ({loaded.id})"))
    console.print(Text(f"{period['start']} → {period['end']} ({period['days']} days, "
                       f"{period['timezone']})"))
    kinds = Counter(m["classification"] for m in summary["messages"].values())
    console.print(Text(
        f"{len(loaded.messages)} messages ("
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"
    ))
    table = Table("channel", "kind", "plan")
    for key, item in summary["channels"].items():
        table.add_row(Text(key), Text(item["kind"]), Text(item["plan"]))
    console.print(table)
    targets = Table("target", "kind", "goal")
    for key, item in summary["targets"].items():
        targets.add_row(Text(key), Text(item["kind"]), Text(item["target"]))
    console.print(targets)
    regions = ", ".join(f"{n} {level}" for level, n in summary["regions"].items())
    teams = summary["teams"]
    console.print(Text(f"regions: {regions or 'none'}"))
    console.print(Text(f"teams: {teams['teams']} with {teams['members']} members, "
                       f"{teams['trained']} trained"))
    console.print("[green]OK[/green]")
