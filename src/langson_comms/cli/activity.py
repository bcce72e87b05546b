"""The ``activity`` command group: a thin shell over ``langson_comms.activity``.

Every command finds the campaign with ``-c/--campaign FILE`` (``cli/options.py``; else
``LANGSON_COMMS_CAMPAIGN``, else ``./campaign.toml``) and opens the activity store
``--store FILE`` (default ``.langson/activity.sqlite`` next to the campaign file).
Exit codes: 0 done, 1 some row was rejected (``log``), 2 usage, configuration or
unreadable input.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from ..api import log_activity, read_activity_status
from ..runtime import Runtime
from ..store_url import sqlite_store_file
from .options import api_flags, campaign_option

__all__ = ["DEFAULT_STORE", "activity"]

DEFAULT_STORE = Path(".langson") / "activity.sqlite"
F = TypeVar("F", bound=Callable[..., Any])


def _store_path(store: str | None) -> Path | None:
    if store is None:
        return None  # the campaign's own: .langson/activity.sqlite next to its file
    # kept a string until here: a Path would fold postgresql:// into postgresql:/
    return sqlite_store_file(store, store="activity store", key="--store")


def store_option(fn: F) -> F:
    """``--store FILE``: the activity store."""
    return click.option("--store", type=click.Path(dir_okay=False, path_type=str), default=None,
                        help="The activity store (default: .langson/activity.sqlite next to the campaign file).")(fn)


@click.group()
def activity() -> None:
    """Log what the press, visual, social and outreach channels did, and count their reach."""


@activity.command("log")
@campaign_option(into="campaign_path")
@store_option
@click.argument("channel_key")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", default=None, help="The record kind of every FILE (default: found from the header).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
@api_flags({"files": "FILE", "store": "--store"})
def log_command(runtime: Runtime, campaign_path: Path, store: str | None, channel_key: str,
                files: tuple[Path, ...], kind: str | None, as_json: bool) -> None:
    """Log CSV/.xlsx FILEs of channel CHANNEL_KEY.  Exit 1 when any row was rejected."""
    campaign = runtime.load_campaign(campaign_path)
    report = log_activity(campaign, channel_key, list(files), clock=runtime.clock, store=_store_path(store), kind=kind)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        table = Table("file", "kind", "read", "accepted", "duplicates", "rejected",
                      title=f"activity of {channel_key} logged")
        for name, c in report.files.items():
            table.add_row(name, c.kind, f"{c.read:,}", f"{c.accepted:,}", f"{c.duplicates:,}", f"{c.rejected:,}")
        Console().print(table)
    for name, rejections in report.rejections.items():
        for rejection in rejections:
            click.echo(f"rejected: {rejection.format()}", err=True)
        more = report.files[name].rejected - len(rejections)
        if more > 0:
            click.echo(f"rejected: {name}: … and {more:,} more (all are in the store's rejections table)", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


@activity.command("status")
@campaign_option(into="campaign_path")
@store_option
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (default: the campaign's start).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last day (default: the campaign's end).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
@api_flags({"store": "--store"})
def status_command(runtime: Runtime, campaign_path: Path, store: str | None, start: dt.datetime | None,
                   end: dt.datetime | None, as_json: bool) -> None:
    """Records, reach, cadence gaps and warnings per channel; reach per district; training."""
    campaign = runtime.load_campaign(campaign_path)
    status = read_activity_status(campaign, start=start.date() if start else None,
                                  end=end.date() if end else None, store=_store_path(store))
    data = status.as_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console = Console()
    table = Table("channel", "kind", "records", "reach", "cadence gaps", "warnings",
                  title=f"activity {data['from']}..{data['to']}: {status.reach:,} reaches")
    for key, c in data["channels"].items():
        table.add_row(key, c["kind"], f"{c['records']:,}", f"{c['reach']:,}", str(len(c["cadence_gaps"])),
                      f"{c['warning_count']:,}")
    console.print(table)
    training = data["training"]
    if training["members"]:
        console.print(f"training: {training['trained']:,} of {training['members']:,} members "
                      f"({training['percent']}%)", highlight=False)
