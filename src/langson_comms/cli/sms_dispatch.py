"""SMS dispatch commands: ``sms send``, ``status``, ``resume``, ``pause``, ``cancel``,
``serve-reports``, ``simulator``, and the carrier-broadcast order/report pair.

All of them find the ledger from the campaign's ``[channels.<key>]`` table of kind
``sms`` (``--channel``, default ``sms``).  Documented in docs/sms-dispatch.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..campaign import Campaign
from ..campaign_file_limits import INT64_MAX
from ..clock import LOCAL_TZ
from ..errors import ConfigError, DataError, DataErrors, LedgerError
from ..http_serving import is_loopback
from ..messages import Message
from ..runtime import Runtime
from ..scrub import Scrubber, clean_secret, scrubbing_logs
from ..sms.broadcast_areas import AreaTotals, excess_over_totals, read_area_totals
from ..sms.engine import DispatchEngine, DispatchSummary, load_prepared
from ..sms.lease import LeaseInfo, SenderLease, describe_lease
from ..sms.ledger import BreakerSummary, BroadcastOrder, SqliteLedger
from ..sms.reports import ReportPoller, ReportReceiver

__all__ = ["register"]

log = logging.getLogger(__name__)


def _runtime() -> Runtime:
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Runtime) else Runtime.create()


def _channel(campaign_path: str, key: str) -> tuple[Any, Any, Runtime]:
    from ..default_plugins.sms import SmsChannel

    runtime = _runtime()
    campaign = runtime.load_campaign(campaign_path)
    plan = campaign.channels.get(key)
    if plan is None or not isinstance(plan.channel, SmsChannel):
        sms = [k for k, p in campaign.channels.items() if isinstance(p.channel, SmsChannel)]
        raise ConfigError(
            f"no sms channel [channels.{key}] (sms channels: {', '.join(sms) or 'none'})",
            source=campaign_path, key=f"channels.{key}",
        )
    return campaign, plan.channel, runtime


def _message(campaign: Any, channel: Any, key: str | None) -> Message:
    name = key or channel.config.message
    try:
        message: Message = campaign.message(name)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), key="--message") from None
    return message


def sender_lease(ledger: SqliteLedger, campaign: str, channel: Any, message: str) -> SenderLease:
    """The sending lease of ``message``, timed by the channel's ``[channels.sms.lease]``;
    it is in the ledger, so no path alias, hard link or other host sends it twice."""
    cfg = channel.config.lease
    return SenderLease(ledger, campaign, message, ttl=cfg.ttl, renew_every=cfg.renew_every)


def _policies_line(selection: Any) -> str:
    """The policies a send runs, and those skipped on record (exempt, disabled)."""
    line = f"policies: {', '.join(selection.names) or 'none'}"
    if selection.exempt:
        line += f"; exempt (public_notice): {', '.join(selection.exempt)}"
    if selection.disabled:
        line += (f"; DISABLED by [channels.sms.policies] disable: "
                 f"{', '.join(selection.disabled)}")
    return line


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)


class _BreakerEcho(logging.Handler):
    """Prints the engine's circuit-breaker records (``extra={"breaker": gid}``) on the
    console: they are the operator's explanation of a pause in accepts."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def filter(self, record: logging.LogRecord) -> bool:
        return hasattr(record, "breaker")

    def emit(self, record: logging.LogRecord) -> None:
        style = "green" if record.levelno < logging.WARNING else "yellow"
        self.console.print(record.getMessage(), style=style, markup=False, highlight=False)


async def _send(runtime: Runtime, campaign: Any, channel: Any, message: Message,
                ledger: SqliteLedger, lease: SenderLease, *, serve_reports: bool,
                progress: bool, wait_reports: float, insecure: bool = False) -> DispatchSummary:
    gateways = channel.build_gateways(runtime.registry)
    clients: list[httpx.AsyncClient] = []
    for gw in gateways.values():
        client = gw.make_client()
        gw.bind_client(client)
        clients.append(client)
    opts = channel.config
    from ..sms.render import MessageRenderer

    renderer = MessageRenderer(message, channel.render_options())
    selection = channel.build_policies(runtime.registry, message)
    click.echo(_policies_line(selection), err=True)
    engine = DispatchEngine(
        ledger, gateways, channel.routing(), campaign=campaign.id, message=message,
        renderer=renderer, policies=selection,
        clock=runtime.clock, retry=channel.retry_policy(), send_by=channel.send_by,
        sender=opts.brandname, claim_size=opts.claim_size,
        breaker=opts.breaker.settings(),
        report_timeout=(opts.report_timeout_hours * 3600
                        if opts.report_timeout_hours is not None else None),
        scrub=channel_scrubber(channel).scrub,
        lease=lease,
    )
    receiver: ReportReceiver | None = None
    stop_polling = asyncio.Event()
    poller = ReportPoller(ledger, list(gateways.values()), interval=opts.reports.poll_interval,
                          clock=runtime.clock)
    poll_task = asyncio.create_task(poller.run(stop_polling)) if poller.gateways else None
    if serve_reports:
        options = _report_options(channel, runtime, insecure=insecure)
        _warn_insecure(options)
        receiver = await ReportReceiver(ledger, **options).start()
    console = Console(stderr=True)
    live: Progress | None = None
    task_id: Any = None
    if progress:
        live = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TextColumn("{task.fields[detail]}"), TimeRemainingColumn(), console=console,
        )
        live.start()
        task_id = live.add_task(f"sms {message.key}", total=1, detail="")

    async def refresh() -> None:
        start = time.monotonic()
        while True:
            counts = ledger.counts(campaign.id, message.key)
            total = sum(counts.values())
            done = total - counts["queued"] - counts["submitted"]
            rate = engine.stats["sent"] / max(1e-9, time.monotonic() - start)
            detail = (f"sent {engine.stats['sent']:,} accepted {counts['accepted']:,} "
                      f"delivered {counts['delivered']:,} "
                      f"failed {counts['failed']:,} expired {counts['expired']:,} "
                      f"{rate:,.0f}/s")
            detail += "".join(
                f" | {gid} circuit {state.value.replace('_', '-')}"
                + (f", probe in {wait:.0f} s" if wait >= 1 else "")
                for gid, (state, wait) in sorted(engine.breaker_states().items()))
            if live is not None:
                live.update(task_id, total=total, completed=done, detail=detail)
            await asyncio.sleep(1.0)  # counting scans the ledger: once a second is plenty

    refresher = asyncio.create_task(refresh() if live is not None else asyncio.sleep(0))
    # Every open and close of a circuit breaker is printed (above the progress bar).
    breaker_log = _BreakerEcho(console)
    engine_log = logging.getLogger("langson_comms.sms.engine")
    engine_log.addHandler(breaker_log)
    restore_level = engine_log.level
    if not engine_log.isEnabledFor(logging.INFO):
        engine_log.setLevel(logging.INFO)
    try:
        summary = await engine.run(handle_signals=True)
        if wait_reports > 0 and summary.outcome == "completed":
            deadline = time.monotonic() + wait_reports
            while (ledger.counts(campaign.id, message.key)["accepted"]
                   and time.monotonic() < deadline and not engine.stopping):
                await asyncio.sleep(0.2)
    finally:
        engine_log.removeHandler(breaker_log)
        engine_log.setLevel(restore_level)
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        if live is not None:
            live.stop()
        stop_polling.set()
        if poll_task is not None:
            await poll_task
        if receiver is not None:
            await receiver.stop()
        for gw in gateways.values():  # sessions the gateways opened (an SMPP bind)
            try:
                await gw.close()
            except Exception as exc:  # closing must not hide the send's outcome
                log.warning("closing gateway %s failed: %s: %s", gw.gateway_id,
                            type(exc).__name__, exc)
        for client in clients:
            await client.aclose()
    return summary


def _run_send(campaign_path: str, channel_key: str, message_key: str | None,
              audience: tuple[str, ...], serve_reports: bool, progress: bool,
              wait_reports: float, as_json: bool, resume: bool, insecure: bool = False) -> None:
    campaign, channel, runtime = _channel(campaign_path, channel_key)
    if channel.config.mode != "direct":
        raise ConfigError(
            f"[channels.{channel_key}] has mode = {channel.config.mode!r}: the carriers send "
            "(use 'sms broadcast-order'); set mode = \"direct\" to send through gateways",
            source=campaign_path, key=f"channels.{channel_key}.mode")
    message = _message(campaign, channel, message_key)
    if serve_reports:  # configuration errors before anything is sent
        _report_options(channel, runtime, insecure=insecure)
    path = channel.ledger_path()
    with SqliteLedger(path) as ledger, sender_lease(ledger, campaign.id, channel,
                                                    message.key) as lease, \
            scrubbing_logs(channel_scrubber(channel)):
        for file in audience:
            added, present = load_prepared(ledger, campaign.id, message, file)
            click.echo(f"loaded {file}: {added:,} new, {present:,} already in the ledger",
                       err=True)
        control = ledger.control(campaign.id, message.key)
        if resume:
            ledger.set_control(campaign.id, message.key, "running")
        elif control != "running":
            raise LedgerError(f"sending {message.key!r} is {control}; 'sms resume' goes on")
        summary = asyncio.run(_send(runtime, campaign, channel, message, ledger, lease,
                                    serve_reports=serve_reports, progress=progress,
                                    wait_reports=wait_reports, insecure=insecure))
        counts = ledger.counts(campaign.id, message.key)
    if as_json:
        click.echo(json.dumps({"outcome": summary.outcome, "counts": counts,
                               "stats": summary.stats, "elapsed": round(summary.elapsed, 3),
                               "recovered": summary.recovered,
                               "policies": dict(summary.policies)}))
    else:
        click.echo(f"{summary.outcome} in {summary.elapsed:.1f} s: {_counts_line(counts)}")
    if summary.outcome == "stopped":
        raise Interrupted("stopped by a signal; every row is recorded: 'sms resume' goes on")
    reached = counts["accepted"] + counts["delivered"] + counts["expired"]
    if counts["failed"] and not reached:
        raise AllFailed(
            f"every row failed: {counts['failed']:,} failed, none accepted by a gateway "
            f"(reasons: 'sms status {campaign_path}')")


class Interrupted(click.ClickException):
    """A send stopped by SIGINT/SIGTERM: exit code 130, like an interrupted shell command."""

    exit_code = 130


class AllFailed(click.ClickException):
    """A send where rows failed and none reached a gateway: exit code 1 (docs/cli.md)."""

    exit_code = 1


_common = [
    click.argument("campaign", type=click.Path(exists=True, dir_okay=False)),
    click.option("--channel", "channel_key", default="sms", show_default=True,
                 help="The [channels.<key>] table of kind sms."),
    click.option("--message", "message_key", default=None,
                 help="Message key (default: the channel's message)."),
]


def _with_common(f: Any) -> Any:
    for decorator in reversed(_common):
        f = decorator(f)
    return f


@click.command("send")
@_with_common
@click.option("--audience", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Prepared audience CSV (from 'sms prepare'); loading twice adds nothing.")
@click.option("--serve-reports/--no-serve-reports", default=False,
              help="Serve the delivery-report endpoint while sending.")
@click.option("--wait-reports", type=float, default=0.0, show_default=True,
              help="After sending, wait up to this many seconds for delivery reports.")
@click.option("--insecure", is_flag=True,
              help="Serve reports without a token (loopback host only; for tests).")
@click.option("--progress/--no-progress", default=True, help="Live progress bar on stderr.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def send(campaign: str, channel_key: str, message_key: str | None, audience: tuple[str, ...],
         serve_reports: bool, wait_reports: float, insecure: bool, progress: bool,
         as_json: bool) -> None:
    """Load prepared audiences into the ledger and send through the configured gateways."""
    _run_send(campaign, channel_key, message_key, audience, serve_reports, progress,
              wait_reports, as_json, resume=False, insecure=insecure)


@click.command("resume")
@_with_common
@click.option("--serve-reports/--no-serve-reports", default=False)
@click.option("--wait-reports", type=float, default=0.0)
@click.option("--insecure", is_flag=True,
              help="Serve reports without a token (loopback host only; for tests).")
@click.option("--progress/--no-progress", default=True)
@click.option("--json", "as_json", is_flag=True)
def resume(campaign: str, channel_key: str, message_key: str | None, serve_reports: bool,
           wait_reports: float, insecure: bool, progress: bool, as_json: bool) -> None:
    """Clear a pause or cancel and send every row not yet accepted (after a crash too)."""
    _run_send(campaign, channel_key, message_key, (), serve_reports, progress, wait_reports,
              as_json, resume=True, insecure=insecure)


def _set_control(campaign_path: str, channel_key: str, message_key: str | None,
                 state: str) -> None:
    campaign, channel, _ = _channel(campaign_path, channel_key)
    message = _message(campaign, channel, message_key)
    with SqliteLedger(channel.ledger_path()) as ledger:
        ledger.set_control(campaign.id, message.key, state)
        if state == "cancelled":
            # With no sender running the rows are closed now; a running sender does it itself.
            try:
                with sender_lease(ledger, campaign.id, channel, message.key):
                    from ..sms.ledger import SmsState

                    # rows a killed sender left in flight are not sent now either
                    recovered = ledger.recover_in_flight(campaign.id, message.key)
                    n = ledger.finish_queued(campaign.id, message.key, SmsState.CANCELLED,
                                             "cancelled by operator", time.time())
                    click.echo(f"cancelled {n:,} queued rows" + (
                        f" ({recovered:,} of them left in flight by a stopped sender)"
                        if recovered else ""))
                    return
            except LedgerError:
                pass
    click.echo(f"{message.key}: {state} (a running sender follows within a second)")


@click.command("pause")
@_with_common
def pause(campaign: str, channel_key: str, message_key: str | None) -> None:
    """Pause sending (a running sender stops starting requests until 'sms resume')."""
    _set_control(campaign, channel_key, message_key, "paused")


@click.command("cancel")
@_with_common
def cancel(campaign: str, channel_key: str, message_key: str | None) -> None:
    """Cancel sending: rows not yet sent end 'cancelled'."""
    _set_control(campaign, channel_key, message_key, "cancelled")


@click.command("status")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=False))
@click.option("--channel", "channel_key", default="sms", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(campaign: str, channel_key: str, as_json: bool) -> None:
    """Rows per state for every message, failure reasons, and carrier broadcast totals."""
    camp, channel, _ = _channel(campaign, channel_key)
    scrub = channel_scrubber(channel)  # reasons a ledger stored before scrubbing existed
    path = channel.ledger_path()
    if not path.exists():
        data: dict[str, Any] = {"campaign": camp.id, "ledger": str(path), "messages": {},
                                "broadcasts": [], "broadcast_areas": {}}
    else:
        now = time.time()  # leases are stamped with the wall clock of the sending host
        with SqliteLedger(path) as ledger:
            orders = ledger.broadcast_orders(camp.id)
            data = {
                "campaign": camp.id, "ledger": str(path),
                "messages": {
                    m: {"counts": ledger.counts(camp.id, m),
                        "control": ledger.control(camp.id, m),
                        "sender": _sender_json(ledger.lease(camp.id, m), now),
                        "breakers": {gid: _breaker_json(b) for gid, b in
                                     ledger.breaker_summary(camp.id, m).items()},
                        "reasons": _scrubbed(ledger.failure_reasons(camp.id, m), scrub),
                        "suppressed_by_policy": ledger.suppressed_by_policy(camp.id, m)}
                    for m in ledger.messages(camp.id)
                },
                "broadcasts": [
                    {"carrier": o.carrier, "message": o.message,
                     "ordered_at": o.ordered_at.isoformat(),
                     "reported_at": o.reported_at.isoformat() if o.reported_at else None,
                     "subscribers": o.subscribers, "sent": o.sent, "delivered": o.delivered,
                     "areas": [_area_json(camp, a) for a in o.areas]}
                    for o in orders
                ],
                "broadcast_areas": {
                    message: [_area_json(camp, a) for a in areas]
                    for message, areas in _areas_all_carriers(orders).items()
                },
            }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    # Reasons (a gateway's text) and area names are printed as they are, never as markup.
    console = Console(markup=False, highlight=False)
    if not data["messages"] and not data["broadcasts"]:
        console.print(f"nothing sent or ordered yet (ledger {path})")
    for key, info in data["messages"].items():
        table = Table(title=f"{key} ({_state_line(info)})")
        table.add_column("state")
        table.add_column("rows", justify="right")
        for state, n in info["counts"].items():
            table.add_row(state, f"{n:,}")
        console.print(table)
        if info.get("sender") is not None:
            console.print(f"  sender: {info['sender']['description']}")
        for reason, n in list(info["reasons"].items())[:10]:
            console.print(f"  {n:>8,}  {escape(reason)}")  # vendor text is not markup
        for policy, n in info.get("suppressed_by_policy", {}).items():
            console.print(f"  suppressed by {policy}: {n:,}")
        for gid, b in info.get("breakers", {}).items():
            console.print(_breaker_line(gid, b), markup=False, highlight=False)
    for order in data["broadcasts"]:
        console.print(f"carrier broadcast {order['carrier']} {order['message']}: ordered "
                      f"{order['ordered_at']}, " + (
                          f"reported {order['sent']:,} sent / {order['delivered']:,} delivered "
                          f"of {order['subscribers']:,} subscribers" if order["reported_at"]
                          else "no report yet"))
    for message_key, areas in data["broadcast_areas"].items():
        table = Table(title=f"carrier broadcast of {message_key} by area (all carriers that "
                            "reported areas)")
        for column in ("area", "name", "subscribers", "sent", "delivered", "delivered %"):
            table.add_column(column, justify="left" if column in ("area", "name") else "right")
        for a in areas:
            share = f"{100 * a['delivered'] / a['subscribers']:.1f}" if a["subscribers"] else "–"
            table.add_row(a["area"], a["name"], f"{a['subscribers']:,}", f"{a['sent']:,}",
                          f"{a['delivered']:,}", share)
        console.print(table)


def _scrubbed(reasons: dict[str, int], scrub: Scrubber) -> dict[str, int]:
    out: dict[str, int] = {}
    for reason, n in reasons.items():
        key = scrub.scrub(reason)
        out[key] = out.get(key, 0) + n
    return out


def _sender_json(lease: LeaseInfo | None, now: float) -> dict[str, Any] | None:
    """The live sender of a message (its lease), or None: no lease, or one that expired
    (a completed send releases it; a crashed sender's lapses)."""
    if lease is None or not lease.live(now):
        return None
    return {"host": lease.host, "pid": lease.pid,
            "heartbeat_age": round(max(0.0, now - lease.renewed_at), 1),
            "expires_in": round(lease.expires_at - now, 1),
            "description": describe_lease(lease, now)}


def _state_line(info: dict[str, Any]) -> str:
    """``running`` only while a sender holds a live lease (``paused``/``cancelled`` while
    it obeys one); else ``not running`` (after the control state if it is not running)."""
    control = str(info["control"])
    if info.get("sender") is not None:
        return control
    return "not running" if control == "running" else f"{control}, not running"


def _breaker_json(b: BreakerSummary) -> dict[str, Any]:
    return {"opens": b.opens, "failed_probes": b.failed_probes, "open_now": b.is_open,
            "last_open": b.last_open.isoformat() if b.last_open else None,
            "last_open_reason": b.last_open_reason,
            "last_close": b.last_close.isoformat() if b.last_close else None,
            "last_open_seconds": b.last_open_seconds,
            "open_seconds": round(b.open_seconds, 3)}


def _breaker_line(gid: str, b: dict[str, Any]) -> str:
    line = (f"  circuit breaker {gid}: opened {b['opens']:,}x, open {b['open_seconds']:,.1f} s "
            f"in all; last opened {b['last_open']} ({b['last_open_reason']})")
    if b["open_now"]:
        return line + "; not closed since (the run ended or stopped while open)"
    return line + f", closed {b['last_close']} after {b['last_open_seconds']:,.1f} s"


def _area_json(camp: Campaign, area: AreaTotals) -> dict[str, Any]:
    try:
        name = camp.regions.get(area.area, camp.period.start).name
    except KeyError:  # the campaign file's regions changed since the report
        name = "(not in the campaign's regions)"
    return {"area": area.area, "name": name, "subscribers": area.subscribers,
            "sent": area.sent, "delivered": area.delivered}


def _areas_all_carriers(orders: list[BroadcastOrder]) -> dict[str, list[AreaTotals]]:
    """Per message, each area's totals added up over the carriers that gave a breakdown."""
    added: dict[str, dict[str, list[int]]] = {}
    for order in orders:
        for a in order.areas:
            sums = added.setdefault(order.message, {}).setdefault(a.area, [0, 0, 0])
            sums[0] += a.subscribers
            sums[1] += a.sent
            sums[2] += a.delivered
    return {message: [AreaTotals(code, *sums) for code, sums in
                      sorted(areas.items(), key=lambda item: int(item[0]))]
            for message, areas in added.items()}


def _report_options(channel: Any, runtime: Runtime, *, host: str | None = None,
                    port: int | None = None, insecure: bool = False) -> dict[str, Any]:
    """``ReportReceiver`` options of a channel: ``<path>/<gateway id>`` per gateway,
    read with that gateway's ``reports.*`` format; the bare ``<path>`` for the only
    gateway (several: gateway not known, read with the default gateway's format)."""
    from ..sms.http_gateway import ReportFormat

    cfg = channel.config
    formats: dict[str, ReportFormat] = {}
    for gid, table in cfg.gateways.items():
        formats[gid] = ReportFormat()
        if table.get("kind") == "generic_http" and "reports" in table:
            ctx = channel.context.child("gateways").child(gid).child("reports")
            formats[gid] = ctx.structure(table["reports"], ReportFormat)
    only = next(iter(formats)) if len(formats) == 1 else None
    fmt = formats.get(only or cfg.default_gateway or "")
    token = None
    where = {"source": channel.context.source, "key": channel.context.path("reports.token_env")}
    if cfg.reports.token_env:
        token = os.environ.get(cfg.reports.token_env)
        if token is None:  # never serve unauthenticated when a token was asked for
            raise ConfigError(
                f"environment variable {cfg.reports.token_env} is not set: it must hold the"
                " Authorization value delivery-report callbacks send", **where)
        try:
            token = clean_secret(token)
        except ValueError as exc:
            raise ConfigError(f"environment variable {cfg.reports.token_env} {exc}: it must "
                              "hold the Authorization value delivery-report callbacks send",
                              **where) from None
    bind = host or cfg.reports.host
    if token is None:
        if not insecure:
            raise ConfigError(
                "the delivery-report endpoint needs a token: set token_env to a variable "
                "holding the Authorization value callbacks send (or, to test on this machine "
                "only, give --insecure with a loopback host)", **where)
        if not is_loopback(bind):
            raise ConfigError(f"--insecure serves only on a loopback address, not {bind} "
                              "(set token_env to serve beyond this machine)", **where)
    return {"host": bind, "port": port or cfg.reports.port,
            "path": cfg.reports.path, "clock": runtime.clock, "token": token,
            "formats": formats, "gateway": only, "fmt": fmt, "insecure": insecure,
            "max_reports": cfg.reports.max_reports,
            "max_body_bytes": cfg.reports.max_body_kb * 1024,
            "scrubber": channel_scrubber(channel)}


def channel_scrubber(channel: Any) -> Scrubber:
    """A scrubber for every secret the channel's configuration names."""
    return Scrubber.of(channel.secret_values(os.environ))


def _warn_insecure(options: dict[str, Any]) -> None:
    if options["token"] is None:
        click.echo(f"WARNING: --insecure: delivery reports on {options['host']} are accepted "
                   "WITHOUT a token (anyone on this machine can forge final states)", err=True)


@click.command("serve-reports")
@click.argument("campaign", type=click.Path(exists=True, dir_okay=False))
@click.option("--channel", "channel_key", default="sms", show_default=True)
@click.option("--host", default=None, help="Default: reports.host (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: reports.port (8687).")
@click.option("--insecure", is_flag=True,
              help="Serve reports without a token (loopback host only; for tests).")
def serve_reports(campaign: str, channel_key: str, host: str | None, port: int | None,
                  insecure: bool) -> None:
    """Serve the delivery-report callback endpoint until Ctrl-C."""
    _, channel, runtime = _channel(campaign, channel_key)
    options = _report_options(channel, runtime, host=host, port=port, insecure=insecure)

    async def serve() -> None:
        with SqliteLedger(channel.ledger_path()) as ledger, \
                scrubbing_logs(options["scrubber"]):
            receiver = await ReportReceiver(ledger, **options).start()
            click.echo(f"delivery reports: POST {receiver.url}"
                       + "".join(f"\n  {gid}: POST {receiver.url_for(gid)}"
                                 for gid in receiver.formats), err=True)
            _warn_insecure(options)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            import signal

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            await receiver.stop()
            click.echo(json.dumps(dict(receiver.counters)))

    asyncio.run(serve())


@click.command("simulator")
@click.option("--port", type=int, default=8686, show_default=True)
@click.option("--rate", type=float, default=None, help="Messages/s before answering 429.")
@click.option("--fail-5xx", type=float, default=0.0, help="Share of requests answered 503.")
@click.option("--timeout", type=float, default=0.0, help="Share of answers held back.")
@click.option("--reset", type=float, default=0.0, help="Share of connections dropped.")
@click.option("--dlr-url", default=None, help="Where to POST delivery reports.")
@click.option("--dlr-token-env", default=None, metavar="NAME",
              help="Environment variable holding the Authorization value to send with them.")
@click.option("--dlr-failed", type=float, default=0.0, help="Share of failed reports.")
@click.option("--idempotent", is_flag=True, help="Honour idempotency keys.")
@click.option("--seed", type=int, default=0)
def simulator(port: int, rate: float | None, fail_5xx: float, timeout: float, reset: float,
              dlr_url: str | None, dlr_token_env: str | None, dlr_failed: float,
              idempotent: bool, seed: int) -> None:
    """Run the carrier simulator on 127.0.0.1 (for demos; Ctrl-C prints its stats)."""
    from ..testing.simulator import SimulatorConfig, serve

    dlr_auth = None
    if dlr_token_env is not None:
        try:
            dlr_auth = clean_secret(os.environ.get(dlr_token_env, ""))
        except ValueError as exc:
            raise ConfigError(f"environment variable {dlr_token_env} {exc}",
                              key="--dlr-token-env") from None
    config = SimulatorConfig(rate_msgs=rate, fail_5xx=fail_5xx, timeout=timeout, reset=reset,
                             dlr_url=dlr_url, dlr_auth=dlr_auth, dlr_failed=dlr_failed,
                             honour_idempotency=idempotent, seed=seed)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, port))


@click.command("broadcast-order")
@_with_common
@click.option("--note", default=None, help="E.g. the dispatch number of the order.")
def broadcast_order(campaign: str, channel_key: str, message_key: str | None,
                    note: str | None) -> None:
    """Record the order for each carrier of a carrier-run broadcast (mode carrier_broadcast)."""
    camp, channel, runtime = _channel(campaign, channel_key)
    message = _message(camp, channel, message_key)
    if not channel.config.carriers:
        raise ConfigError("no carriers to order from", key=f"channels.{channel_key}.carriers")
    now = runtime.clock.now().timestamp()
    with SqliteLedger(channel.ledger_path()) as ledger:
        for carrier in channel.config.carriers:
            ledger.order_broadcast(camp.id, carrier, message.key, now, note)
            click.echo(f"ordered {carrier}: broadcast {message.key!r} to "
                       f"{channel.config.coverage_percent:g} % of its subscribers")


#: a count the ledger can store: 0 … the largest 64-bit integer (SQLite's INTEGER)
_COUNT = click.IntRange(0, INT64_MAX)


@click.command("broadcast-report")
@_with_common
@click.option("--carrier", required=True)
@click.option("--subscribers", type=_COUNT, required=True,
              help="Subscribers the carrier targeted.")
@click.option("--sent", type=_COUNT, required=True)
@click.option("--delivered", type=_COUNT, required=True)
@click.option("--areas", "areas_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="The carrier's breakdown by area: CSV with columns "
                                 "area (unit code), subscribers, sent, delivered.")
def broadcast_report(campaign: str, channel_key: str, message_key: str | None, carrier: str,
                     subscribers: int, sent: int, delivered: int,
                     areas_file: str | None) -> None:
    """Record the totals a carrier reported back for a broadcast it ran."""
    camp, channel, runtime = _channel(campaign, channel_key)
    message = _message(camp, channel, message_key)
    areas: list[AreaTotals] = []
    if areas_file is not None:
        areas = read_area_totals(areas_file, camp.regions, on=camp.period.start)
        excess = excess_over_totals(areas, subscribers=subscribers, sent=sent,
                                    delivered=delivered)
        if excess:
            raise DataErrors([DataError(text, source=areas_file, column=column)
                              for column, text in excess])
    with SqliteLedger(channel.ledger_path()) as ledger:
        ledger.report_broadcast(camp.id, carrier, message.key, subscribers=subscribers,
                                sent=sent, delivered=delivered,
                                now=runtime.clock.now().timestamp(), areas=areas)
    stamp = runtime.clock.now().in_timezone(LOCAL_TZ).to_datetime_string()
    click.echo(f"{carrier}: {delivered:,} delivered of {sent:,} sent to {subscribers:,} "
               f"subscribers (recorded {stamp})")
    if areas:
        placed = sum(a.subscribers for a in areas)
        click.echo(f"  by area: {len(areas)} areas hold {placed:,} of those subscribers "
                   f"({subscribers - placed:,} unattributed)")


def register(sms_group: click.Group) -> None:
    """Add the dispatch commands to the ``sms`` group."""
    for command in (send, status, resume, pause, cancel, serve_reports, simulator,
                    broadcast_order, broadcast_report):
        sms_group.add_command(command)
