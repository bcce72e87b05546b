"""The ``broadcast`` command group: schedule, export, confirm, compliance, serve, secrets.

Display only: each command calls ``langson_comms.api``.  Every command reads the campaign
file (``-c/--campaign`` on the group or the command, default ``./campaign.toml``)
and the ``[channels.<key>]`` table of kind ``broadcast`` (``--channel``).  As-run
confirmations live in a SQLite file (``--db``, default the channel's ``store`` key,
``.langson/broadcast.sqlite`` next to the campaign file), so ``confirm`` and
``compliance`` work across invocations.  See docs/broadcasting.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import click
import pendulum
from rich.console import Console
from rich.table import Table

from .. import api
from ..broadcast.scheduler import ItemKind, Schedule
from ..runtime import Runtime
from .options import api_flags, campaign_option, group_campaign_option

__all__ = ["broadcast"]


@attrs.define
class _State:
    runtime: Runtime
    channel_key: str
    db: Path | None
    campaign_path: Path = Path("campaign.toml")
    _target: api.BroadcastTarget | None = None

    def target(self) -> api.BroadcastTarget:
        if self._target is None:
            campaign = api.load_campaign(self.campaign_path, runtime=self.runtime)
            self._target = api.broadcast_target(campaign, self.channel_key, store=self.db)
        return self._target

    def channel(self) -> Any:
        return self.target().channel

    def schedule(self) -> Schedule:
        return api.schedule_broadcasts(self.target(), runtime=self.runtime)

    def today(self) -> pendulum.Date:
        return self.runtime.clock.now().in_timezone("Asia/Ho_Chi_Minh").date()


def _state(ctx: click.Context, campaign: Path) -> _State:
    state = ctx.find_object(_State)
    assert state is not None
    state.campaign_path = campaign
    return state


@click.group()
@group_campaign_option
@click.option("--channel", "channel_key", default="broadcast", show_default=True, help="Key of the channel table.")
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="As-run SQLite file (default: the channel's `store`).",
)
@click.pass_context
def broadcast(ctx: click.Context, channel_key: str, db: Path | None) -> None:
    """Schedule loudspeaker airings, export run-sheets and check proof of airing."""
    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime.create()
    ctx.obj = _State(runtime, channel_key, db)


@broadcast.command()
@campaign_option()
@click.option("--station", "station_code", default=None, help="List one station's airings.")
@click.pass_context
def schedule(ctx: click.Context, campaign: Path, station_code: str | None) -> None:
    """Build the plan and summarise it: airings per district, balance, holidays, bulletins."""
    state = _state(ctx, campaign)
    channel = state.channel()
    plan = state.schedule()
    console = Console(markup=False, highlight=False)  # station names are printed as they are
    if station_code:
        station = channel.stations.find(station_code)
        if station is None:
            raise click.BadParameter(f"{station_code!r} is not a station of this campaign", param_hint="--station")
        table = Table(title=f"{station.name} ({station.code})")
        for column in ("date", "start", "item", "kind", "priority", "note"):
            table.add_column(column)
        for a in plan.for_station(station.code):
            table.add_row(str(a.day), f"{a.start:%H:%M:%S}", a.item, a.kind.value, a.priority.value, a.note)
        console.print(table)
        return
    table = Table(title=f"Broadcast plan {plan.start} → {plan.end} ({plan.scheduler})")
    for column in ("district", "stations", "airings", "sketch airings"):
        table.add_column(column, justify="right" if column != "district" else "left")
    for district in channel.stations.district_codes():
        members = channel.stations.in_district(district)
        airings = [a for s in members for a in plan.for_station(s.code)]
        sketches = sum(1 for a in airings if a.kind is ItemKind.SKETCH)
        name = channel.stations.unit_name(district, plan.start)
        table.add_row(f"{district} {name}".strip(), str(len(members)), str(len(airings)),
                      str(sketches))
    console.print(table)
    spreads = []
    for station in channel.stations:
        counts = plan.sketch_counts(station.code)
        if counts:
            spreads.append(max(counts.values()) - min(counts.values()))
    console.print(
        f"{len(channel.stations)} stations, {len(plan.airings)} airings; "
        f"sketch balance per station: largest spread {max(spreads, default=0)} airing(s)"
    )
    reasons = Counter(s.reason.value for s in plan.skipped)
    if reasons:
        console.print("left out: " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items())))
    moved = sum(1 for a in plan.airings if a.moved_from is not None)
    if moved:
        console.print(f"moved to the next allowed day: {moved}")
    for d in plan.displaced:
        console.print(
            f"displaced: {d.airing.station} {d.airing.day} {d.airing.start:%H:%M:%S} {d.airing.item} "
            f"by emergency {d.by.item} at {d.by.start:%H:%M:%S}"
        )
    for status in channel.sketches.due_report(state.today()):
        if status.missed:
            console.print(
                f"sketch {status.sketch.id} missed its due date {status.sketch.due}: "
                f"{status.state.value}, {status.days_late} day(s) late"
            )


@broadcast.command()
@campaign_option()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True, help="Folder.")
@click.option(
    "--format",
    "formats",
    type=click.Choice(["ics", "csv", "md", "html"]),
    multiple=True,
    help="Only these formats (repeatable; default all).",
)
@click.option(
    "--force", is_flag=True, help="Write into a folder that already holds files (only the export's own files)."
)
@click.pass_context
def export(ctx: click.Context, campaign: Path, out: Path, formats: tuple[str, ...], force: bool) -> None:
    """Write calendars, run-sheets and printable weekly sheets under --out.

    A folder that already holds files needs --force; then only the export's own files are
    (re)written and every other file is left alone.  No export file may be an input.
    """
    state = _state(ctx, campaign)
    if not force and out.is_dir() and any(out.iterdir()):  # before building the plan
        raise click.UsageError(
            f"{out} already holds files; give --force to write the export's own files there "
            "(other files are left alone), or choose an empty or new folder"
        )
    result = api.export_broadcasts(state.target(), out, formats=formats, force=force,
                                   runtime=state.runtime, clock=state.runtime.clock)
    files = ", ".join(f"{n} {kind}" for kind, n in sorted(result.files.items()))
    click.echo(f"wrote {files} file(s) for {result.airings} airings under {out}")


@broadcast.command()
@campaign_option()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_context
def confirm(ctx: click.Context, campaign: Path, file: Path) -> None:
    """Ingest typed-in as-run confirmations (CSV: station,date,time,item[,confirmed_by,via,note]).

    Valid rows are kept even when others are rejected; the exit code is 1 if any row was.
    """
    state = _state(ctx, campaign)
    report = api.confirm_broadcasts(state.target(), file, runtime=state.runtime,
                                    clock=state.runtime.clock)
    for rejection in report.rejected:
        click.echo(f"rejected: {rejection.format()}", err=True)
    click.echo(f"{report.source}: read {report.read}, accepted {report.accepted}, rejected {len(report.rejected)}")
    if report.rejected:
        ctx.exit(1)


def _tally_table(title: str, rows: dict[str, Any], names: dict[str, str]) -> Table:
    table = Table(title=title)
    columns = ("planned", "aired", "on_time", "late", "missed", "pending", "unplanned", "reach")
    table.add_column("code")
    table.add_column("name")
    for column in (*columns, "rate"):
        table.add_column(column, justify="right")
    for code, tally in rows.items():
        rate = "—" if tally.rate is None else f"{tally.rate:.0%}"
        table.add_row(code, names.get(code, ""), *(f"{getattr(tally, c):,}" for c in columns), rate)
    return table


@broadcast.command()
@campaign_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--as-of", "as_of", default=None, help="Judge as of this date (YYYY-MM-DD; default today).")
@click.option("--stations", "by_station", is_flag=True, help="Also list every station.")
@click.pass_context
def compliance(ctx: click.Context, campaign: Path, as_json: bool, as_of: str | None, by_station: bool) -> None:
    """Planned, aired (on time / late), missed, pending and unplanned airings, and reach."""
    state = _state(ctx, campaign)
    day = state.today()
    if as_of is not None:
        try:
            day = pendulum.Date.fromisoformat(as_of)
        except ValueError:
            raise click.BadParameter(f"{as_of!r} is not a date (expected YYYY-MM-DD)", param_hint="--as-of") from None
    report = api.broadcast_compliance(state.target(), as_of=day, runtime=state.runtime)
    channel = state.channel()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    console = Console()
    district_names = {r.code: r.name for r in state.target().campaign.regions}
    console.print(_tally_table(f"Compliance by district as of {day}", dict(report.districts), district_names))
    if by_station:
        names = {s.code: s.name for s in channel.stations}
        console.print(_tally_table("By station", dict(report.stations), names))
    t = report.total
    console.print(
        f"total: planned {t.planned:,}, aired {t.aired:,} ({t.on_time:,} on time, {t.late:,} late), "
        f"missed {t.missed:,}, pending {t.pending:,}, unplanned {t.unplanned:,}; reach {t.reach:,}"
    )


@broadcast.command()
@campaign_option()
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@click.pass_context
def secrets(ctx: click.Context, campaign: Path, out: Path) -> None:
    """Write a new random shared secret for every IP-connected station (station,secret)."""
    state = _state(ctx, campaign)
    if out.exists():
        raise click.BadParameter(f"{out} exists; refusing to overwrite secrets", param_hint="--out")
    with api_flags({"out": "--out"}):
        n = api.write_station_secrets(state.target(), out)
    click.echo(f"wrote {n} secret(s) to {out}; give each station only its own")


@broadcast.command()
@campaign_option()
@click.option("--secrets", "secrets_path", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.pass_context
def serve(ctx: click.Context, campaign: Path, secrets_path: Path | None, host: str, port: int) -> None:
    """Serve the confirmation endpoint for IP stations until interrupted."""
    state = _state(ctx, campaign)
    if secrets_path is None and state.channel().secrets_path is None:
        raise click.UsageError("give --secrets FILE or set `secrets` in the channel table")

    def started(stations: int, bound: int) -> None:
        click.echo(f"serving confirmations for {stations} station(s) on http://{host}:{bound}", err=True)

    async def run() -> None:
        await api.serve_confirmations(state.target(), asyncio.Event(), secrets_path=secrets_path, host=host,
                                      port=port, runtime=state.runtime, clock=state.runtime.clock,
                                      on_start=started)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
