"""Loudspeaker broadcasting from Python: schedule, export, confirm, compliance, secrets.

``broadcast_target`` picks the campaign's ``[channels.<key>]`` table of kind ``broadcast``;
the other calls take it.  As-run confirmations live in a SQLite store (``store``, default
the channel's ``store`` key).  See docs/broadcasting.md.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs
import pendulum

from ..broadcast.asrun import ComplianceReport, IngestReport, ingest_csv
from ..broadcast.asrun import compliance as _compliance
from ..broadcast.exports import ExportResult, export_all
from ..broadcast.scheduler import Schedule
from ..campaign import Campaign
from ..clock import LOCAL_TZ, Clock, SystemClock
from ..errors import ConfigError
from ..outputs import atomic_output, campaign_inputs
from ..registry import Registry
from ..runtime import Runtime
from ..scrub import Scrubber, scrubbing_logs
from ..store_url import sqlite_store_file

__all__ = ["BroadcastTarget", "broadcast_compliance", "broadcast_target", "confirm_broadcasts",
           "export_broadcasts", "schedule_broadcasts", "serve_confirmations",
           "write_station_secrets"]

EXPORT_FORMATS = ("ics", "csv", "md", "html")


@attrs.frozen
class BroadcastTarget:
    """A campaign's broadcast channel (``channel`` is the built ``BroadcastChannel``) and
    the as-run store it uses (``store``: default the channel's ``store`` key)."""

    campaign: Campaign
    channel_key: str
    channel: Any
    store: Path

    def open_store(self) -> Any:
        """The as-run store (SQLite); close it after (it is a context manager)."""
        return self.channel.store(self.store)


def broadcast_target(campaign: Campaign, channel: str = "broadcast", *,
                     store: str | Path | None = None) -> BroadcastTarget:
    """The broadcast channel ``channel`` of ``campaign`` (``ConfigError`` naming it when it
    is missing or of another kind)."""
    try:
        built = campaign.channel(channel)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), source=campaign.source) from None
    if getattr(built, "name", None) != "broadcast":
        raise ConfigError(f"[channels.{channel}] is not a broadcast channel",
                          source=campaign.source)
    return BroadcastTarget(campaign, channel, built,
                           sqlite_store_file(store, store="as-run store", key="--store")
                           if store is not None else built.store_path)


def _registry(runtime: Runtime | None) -> Registry:
    return (runtime or Runtime.create()).registry


def _today(clock: Clock | None) -> pendulum.Date:
    return (clock or SystemClock()).now().in_timezone(LOCAL_TZ).date()


def schedule_broadcasts(target: BroadcastTarget, *, runtime: Runtime | None = None) -> Schedule:
    """The whole plan of airings (``ScheduleError`` when it cannot be built)."""
    result: Schedule = target.channel.schedule(_registry(runtime))
    return result


def export_broadcasts(target: BroadcastTarget, out: Path, *,
                      formats: Iterable[str] = EXPORT_FORMATS, force: bool = False,
                      schedule: Schedule | None = None, runtime: Runtime | None = None,
                      clock: Clock | None = None) -> ExportResult:
    """Write calendars (ics), run-sheets (csv) and printable weekly sheets (md, html) under
    ``out``, each renamed into place.  A folder that already holds files needs ``force``;
    then only the export's own files are written.  No export file may be an input."""
    if not force and out.is_dir() and any(out.iterdir()):
        raise ConfigError(
            f"{out} already holds files; pass force=True to write the export's own files there "
            "(other files are left alone), or choose an empty or new folder", key="out")
    plan = schedule or schedule_broadcasts(target, runtime=runtime)
    inputs = [("as-run store", target.store)]
    if target.campaign.source and Path(target.campaign.source).is_file():
        inputs[:0] = campaign_inputs(Path(target.campaign.source))
    if target.channel.secrets_path is not None:
        inputs.append(("secrets file", target.channel.secrets_path))
    return export_all(plan, target.channel.stations, out,
                      stamp=(clock or SystemClock()).now().in_timezone("UTC"),
                      formats=tuple(formats) or EXPORT_FORMATS, inputs=inputs)


def confirm_broadcasts(target: BroadcastTarget, file: Path, *, schedule: Schedule | None = None,
                       runtime: Runtime | None = None, clock: Clock | None = None,
                       ) -> IngestReport:
    """Ingest typed-in as-run confirmations (CSV: station,date,time,item[,confirmed_by,via,
    note]): valid rows are kept, each bad one rejected with its location; a file that
    cannot be read to its end stores nothing (``DataError``)."""
    plan = schedule or schedule_broadcasts(target, runtime=runtime)
    clock = clock or SystemClock()
    with target.open_store() as store:
        return ingest_csv(file, store, target.channel.checker(plan, today=_today(clock)),
                          at=clock.now())


def broadcast_compliance(target: BroadcastTarget, *, as_of: dt.date | None = None,
                         schedule: Schedule | None = None, runtime: Runtime | None = None,
                         clock: Clock | None = None) -> ComplianceReport:
    """Planned, aired (on time, late), missed, pending and unplanned airings and reach, per
    station and district, judged as of ``as_of`` (default: today in Vietnam)."""
    plan = schedule or schedule_broadcasts(target, runtime=runtime)
    with target.open_store() as store:
        confirmations = store.confirmations()
    report: ComplianceReport = _compliance(
        plan, confirmations, target.channel.stations, as_of=as_of or _today(clock),
        grace_days=target.channel.grace_days)
    return report


def write_station_secrets(target: BroadcastTarget, out: Path) -> int:
    """Write a new random shared secret for every IP-connected station (CSV station,secret,
    owner-only); never overwrites (``ConfigError``).  The number of stations."""
    if out.exists():
        raise ConfigError(f"{out} exists; refusing to overwrite secrets", key="out")
    from ..broadcast.asrun_server import new_secrets

    fresh = new_secrets(target.channel.stations)
    with atomic_output(out, permissions=0o600) as handle:  # owner-only from the start
        writer = csv.writer(handle)
        writer.writerow(["station", "secret"])
        writer.writerows(sorted(fresh.items()))
    return len(fresh)


async def serve_confirmations(target: BroadcastTarget, stop: asyncio.Event, *,
                              secrets_path: Path | None = None, host: str = "127.0.0.1",
                              port: int = 0, schedule: Schedule | None = None,
                              runtime: Runtime | None = None, clock: Clock | None = None,
                              on_start: Callable[[int, int], object] | None = None) -> None:
    """Serve the as-run confirmation endpoint for IP stations until ``stop`` is set;
    ``on_start(stations, port)`` once listening.  The secrets file (``station,secret``)
    is ``secrets_path`` or the channel's ``secrets`` (``ConfigError`` when neither)."""
    from ..broadcast.asrun_server import load_secrets, make_app, start_server  # aiohttp: only when serving

    path = secrets_path or target.channel.secrets_path
    if path is None:
        raise ConfigError("pass secrets_path or set `secrets` in the channel table",
                          key=f"channels.{target.channel_key}.secrets")
    station_secrets = load_secrets(path, target.channel.stations)
    plan = schedule or schedule_broadcasts(target, runtime=runtime)
    with target.open_store() as store, scrubbing_logs(Scrubber.of(station_secrets.values())):
        app = make_app(store, target.channel.checker(plan, today=None), station_secrets,
                       clock or SystemClock())
        runner, bound = await start_server(app, host, port)
        try:
            if on_start is not None:
                on_start(len(station_secrets), bound)
            await stop.wait()
        finally:
            await runner.cleanup()
