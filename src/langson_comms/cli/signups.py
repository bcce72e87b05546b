"""The ``signups`` command group: a thin shell over ``langson_comms.api``
(``ingest_signups``, ``serve_signups``, ``signups_status``).

Every command finds the campaign with ``-c/--campaign FILE`` (``cli/options.py``: the
command's or the top level's, else ``LANGSON_COMMS_CAMPAIGN``, else ``./campaign.toml``),
calls the library (which opens the store the campaign's ``[signups] store`` names) and prints.  Exit codes: 0 done,
1 some row was rejected (``ingest``), 2 usage, configuration or unreadable input.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..api import ingest_signups, serve_signups, signups_status, signups_store_path
from ..api.signups import SIGNUPS_HOST, SIGNUPS_PORT
from ..runtime import Runtime
from .options import campaign_option

__all__ = ["signups"]


@click.group()
def signups() -> None:
    """Take in installs, accounts and first purchases from the platforms."""


@signups.command("ingest")
@campaign_option(into="campaign_path")
@click.argument("source_key", required=False)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--progress/--no-progress", default=None,
              help="Rows read so far on stderr (default: when stderr is a terminal).")
@click.pass_obj
def ingest_command(runtime: Runtime, campaign_path: Path, source_key: str | None,
                   files: tuple[Path, ...], as_json: bool, progress: bool | None) -> None:
    """Ingest SOURCE_KEY (default: every file and polling source); FILEs replace a file
    source's configured ones.  Exit 1 when any row was rejected."""
    campaign = runtime.load_campaign(campaign_path)
    store_path = signups_store_path(campaign)
    err = Console(stderr=True)
    show = err.is_terminal if progress is None else progress

    def report_progress(key: str, read: int) -> None:
        err.print(f"{key}: {read:,} rows read", end="\r", highlight=False)

    report = ingest_signups(campaign, clock=runtime.clock, keys=[source_key] if source_key else None,
                            files=list(files), progress=report_progress if show else None)
    if show:
        err.print(" " * 40, end="\r")
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        table = Table("source", "read", "accepted", "duplicates", "rejected", "unattributed",
                      title=f"sign-ups ingested into {store_path}")
        for key, counts in [*report.sources.items(), ("total", report.totals)]:
            table.add_row(key, *(f"{v:,}" for v in counts.as_dict().values()))
        Console().print(table)
    for key, rejections in report.rejections.items():
        for rejection in rejections:
            click.echo(f"rejected: {key}: {rejection.format()}", err=True)
        more = report.sources[key].rejected - len(rejections)
        if more > 0:
            click.echo(f"rejected: {key}: … and {more:,} more (all are in the store's rejections table)",
                       err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)


@signups.command("serve")
@campaign_option(into="campaign_path")
@click.argument("source_key")
@click.option("--host", default=SIGNUPS_HOST, show_default=True,
              help="The address to listen on (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=SIGNUPS_PORT, show_default=True,
              help="The port to listen on (0: any free port, printed at start).")
@click.pass_obj
def serve_command(runtime: Runtime, campaign_path: Path, source_key: str, host: str, port: int) -> None:
    """Receive SOURCE_KEY's signed webhook requests at POST /signups/SOURCE_KEY until
    Ctrl-C or SIGTERM.  Each answer is 2xx only once its events are stored."""
    campaign = runtime.load_campaign(campaign_path)
    store_path = signups_store_path(campaign)

    def ready(url: str) -> None:
        click.echo(f"listening on {url} (store {store_path}); Ctrl-C to stop", err=True)

    async def serve() -> dict[int, int]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await serve_signups(campaign, source_key, stop, clock=runtime.clock, host=host,
                                   port=port, ready=ready)

    answers = asyncio.run(serve())
    answered = ", ".join(f"{n:,} × {status}" for status, n in sorted(answers.items())) or "none"
    click.echo(f"stopped; answers: {answered}", err=True)


@signups.command("status")
@campaign_option(into="campaign_path")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_obj
def status_command(runtime: Runtime, campaign_path: Path, as_json: bool) -> None:
    """Events stored: total, and by platform, kind, day, team, commune; unattributed."""
    campaign = runtime.load_campaign(campaign_path)
    status = signups_status(campaign)  # creates nothing before the first ingest
    data = {
        "total": status.total,
        "by_platform": dict(status.by_platform),
        "by_kind": dict(status.by_kind),
        "by_day": dict(status.by_day),
        "by_team": dict(status.by_team),
        "by_commune": dict(status.by_commune),
        "unattributed": status.unattributed,
        "out_of_period": status.out_of_period,
        "rejected": status.rejected,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    console = Console()
    path = signups_store_path(campaign)
    if not path.exists():
        console.print(f"no sign-ups ingested yet (no store at {path})", highlight=False)
        return
    console.print(f"{status.total:,} sign-ups ({status.unattributed:,} unattributed, "
                  f"{status.out_of_period:,} outside the campaign period, {status.rejected:,} rows rejected)",
                  highlight=False)
    for title in ("by_platform", "by_kind", "by_team"):
        table = Table(title.removeprefix("by_"), "events", title=title.replace("_", " "))
        for name, count in data[title].items():  # type: ignore[attr-defined]
            table.add_row(name, f"{count:,}")
        console.print(table)
