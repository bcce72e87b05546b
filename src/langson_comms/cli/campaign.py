"""``langson-comms validate``: check a campaign file and summarise it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..campaign import Campaign
from ..runtime import Runtime


def summarise(campaign: Campaign) -> dict[str, Any]:
    levels = Counter(region.level.value for region in campaign.regions)
    members = [m for team in campaign.teams for m in team.members]
    return {
        "id": campaign.id,
        "title": campaign.title,
        "period": {"start": str(campaign.period.start), "end": str(campaign.period.end),
                   "timezone": campaign.period.timezone, "days": campaign.period.days},
        "messages": {
            key: {"classification": m.classification.value, "classified_by": m.classified_by}
            for key, m in campaign.messages.items()
        },
        "channels": {
            key: {"kind": plan.kind, "plan": _describe(plan.channel)}
            for key, plan in campaign.channels.items()
        },
        "targets": {
            key: {"kind": target.kind, "target": _describe(target.kpi)}
            for key, target in campaign.targets.items()
        },
        "regions": dict(sorted(levels.items())),
        "teams": {"teams": len(campaign.teams), "members": len(members),
                  "trained": sum(m.trained for m in members)},
    }


def _describe(obj: Any) -> str:
    describe = getattr(obj, "describe", None)
    return str(describe()) if callable(describe) else type(obj).__name__


@click.command()
@click.argument("campaign_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_obj
def validate(runtime: Runtime, campaign_file: Path, as_json: bool) -> None:
    """Check CAMPAIGN_FILE and print a short summary."""
    campaign = runtime.load_campaign(campaign_file)
    summary = summarise(campaign)
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    # User text is printed as Text, never read as markup, and nothing is highlighted:
    # rich's highlighter took 64 s on a 100 KB title.
    console = Console(highlight=False)
    period = summary["period"]
    console.print(Text.assemble((campaign.title, "bold"), f" ({campaign.id})"))
    console.print(Text(f"{period['start']} → {period['end']} ({period['days']} days, "
                       f"{period['timezone']})"))
    kinds = Counter(m["classification"] for m in summary["messages"].values())
    console.print(Text(
        f"{len(campaign.messages)} messages ("
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
