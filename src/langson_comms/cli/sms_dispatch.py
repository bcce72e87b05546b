"""SMS dispatch commands: ``sms send``, ``status``, ``resume``, ``pause``, ``cancel``,
``serve-reports``, ``simulator``, and the carrier-broadcast order/report pair.

Argument parsing and display only: each command is a call of ``langson_comms.api``.  All
of them find the ledger from the campaign's ``[channels.<key>]`` table of kind ``sms``
(``--channel``, default ``sms``).  Documented in docs/sms-dispatch.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from .. import api
from ..campaign_file_limits import INT64_MAX
from ..clock import LOCAL_TZ
from ..errors import ConfigError
from ..runtime import Runtime
from ..scrub import clean_secret
from .options import api_flags, campaign_option
from .sms_display import SendDisplay, print_status

__all__ = ["register"]


def _runtime() -> Runtime:
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Runtime) else Runtime.create()


#: the API's parameter names as the send commands' options
FLAGS = {"message": "--message", "insecure": "--insecure"}


@api_flags(FLAGS)
def _target(campaign: Path, channel_key: str, message_key: str | None = None
            ) -> tuple[api.SmsTarget, Runtime]:
    runtime = _runtime()
    return api.sms_target(runtime.load_campaign(campaign), channel_key, message_key), runtime


class Interrupted(click.ClickException):
    """A send stopped by SIGINT/SIGTERM: exit code 130, like an interrupted shell command."""

    exit_code = 130


class AllFailed(click.ClickException):
    """A send where rows failed and none reached a gateway: exit code 1 (docs/cli.md)."""

    exit_code = 1


@api_flags(FLAGS)
def _run_send(campaign: Path, channel_key: str, message_key: str | None,
              audience: tuple[str, ...], serve_reports: bool, progress: bool,
              wait_reports: float, as_json: bool, resume: bool, insecure: bool) -> None:
    target, runtime = _target(campaign, channel_key, message_key)
    if serve_reports:  # configuration errors before anything is loaded or sent
        options = api.report_options(target, insecure=insecure)
        if options["token"] is None:
            click.echo(SendDisplay.INSECURE.format(host=options["host"]), err=True)
    display = SendDisplay(progress=progress and sys.stderr.isatty(), title=target.message.key)
    with display:
        summary = asyncio.run(api.send_sms(
            target, runtime=runtime, audience=audience, resume=resume, on_event=display,
            serve_reports=serve_reports, insecure=insecure, wait_reports=wait_reports,
            handle_signals=True))
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
    else:
        counts = ", ".join(f"{k} {v:,}" for k, v in summary.counts.items() if v)
        click.echo(f"{summary.outcome} in {summary.elapsed:.1f} s: {counts}")
    if summary.outcome == "stopped":
        raise Interrupted("stopped by a signal; every row is recorded: 'sms resume' goes on")
    if summary.all_failed:
        raise AllFailed(
            f"every row failed: {summary.counts['failed']:,} failed, none accepted by a "
            f"gateway (reasons: 'sms status -c {campaign}')")


_common = [
    campaign_option(positional=True),
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
@click.option("--progress/--no-progress", default=True,
              help="Live progress bar on stderr (only when stderr is a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def send(campaign: Path, channel_key: str, message_key: str | None, audience: tuple[str, ...],
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
def resume(campaign: Path, channel_key: str, message_key: str | None, serve_reports: bool,
           wait_reports: float, insecure: bool, progress: bool, as_json: bool) -> None:
    """Clear a pause or cancel and send every row not yet accepted (after a crash too)."""
    _run_send(campaign, channel_key, message_key, (), serve_reports, progress, wait_reports,
              as_json, resume=True, insecure=insecure)


def _control_line(result: api.ControlResult) -> str:
    if result.cancelled is not None:
        return f"cancelled {result.cancelled:,} queued rows" + (
            f" ({result.recovered:,} of them left in flight by a stopped sender)"
            if result.recovered else "")
    return f"{result.message}: {result.state} (a running sender follows within a second)"


@click.command("pause")
@_with_common
def pause(campaign: Path, channel_key: str, message_key: str | None) -> None:
    """Pause sending (a running sender stops starting requests until 'sms resume')."""
    click.echo(_control_line(api.pause_sms(_target(campaign, channel_key, message_key)[0])))


@click.command("cancel")
@_with_common
def cancel(campaign: Path, channel_key: str, message_key: str | None) -> None:
    """Cancel sending: rows not yet sent end 'cancelled'."""
    click.echo(_control_line(api.cancel_sms(_target(campaign, channel_key, message_key)[0])))


@click.command("status")
@campaign_option(positional=True)
@click.option("--channel", "channel_key", default="sms", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(campaign: Path, channel_key: str, as_json: bool) -> None:
    """Rows per state for every message, failure reasons, and carrier broadcast totals."""
    runtime = _runtime()
    camp = runtime.load_campaign(campaign)
    target = api.sms_target(camp, channel_key)
    result = api.sms_status(target)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_status(result)


@click.command("serve-reports")
@campaign_option(positional=True)
@click.option("--channel", "channel_key", default="sms", show_default=True)
@click.option("--host", default=None, help="Default: reports.host (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: reports.port (8687); 0: any free port (printed).")
@click.option("--insecure", is_flag=True,
              help="Serve reports without a token (loopback host only; for tests).")
def serve_reports(campaign: Path, channel_key: str, host: str | None, port: int | None,
                  insecure: bool) -> None:
    """Serve the delivery-report callback endpoint until Ctrl-C."""
    target, runtime = _target(campaign, channel_key)
    with api_flags(FLAGS):
        options = api.report_options(target, clock=runtime.clock, host=host, port=port,
                                     insecure=insecure)

    def started(receiver: Any) -> None:
        click.echo(f"delivery reports: POST {receiver.url}"
                   + "".join(f"\n  {gid}: POST {receiver.url_for(gid)}"
                             for gid in receiver.formats), err=True)
        if options["token"] is None:
            click.echo(SendDisplay.INSECURE.format(host=options["host"]), err=True)

    async def serve() -> dict[str, int]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await api.serve_reports(target, stop, options=options, on_start=started)

    click.echo(json.dumps(asyncio.run(serve())))


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
def broadcast_order(campaign: Path, channel_key: str, message_key: str | None,
                    note: str | None) -> None:
    """Record the order for each carrier of a carrier-run broadcast (mode carrier_broadcast)."""
    target, runtime = _target(campaign, channel_key, message_key)
    for carrier in api.order_broadcast(target, note=note, clock=runtime.clock):
        click.echo(f"ordered {carrier}: broadcast {target.message.key!r} to "
                   f"{target.config.coverage_percent:g} % of its subscribers")


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
def broadcast_report(campaign: Path, channel_key: str, message_key: str | None, carrier: str,
                     subscribers: int, sent: int, delivered: int,
                     areas_file: str | None) -> None:
    """Record the totals a carrier reported back for a broadcast it ran."""
    target, runtime = _target(campaign, channel_key, message_key)
    report = api.record_broadcast_report(target, carrier, subscribers=subscribers, sent=sent,
                                         delivered=delivered, areas_file=areas_file,
                                         clock=runtime.clock)
    stamp = report.recorded_at.in_timezone(LOCAL_TZ).to_datetime_string()
    click.echo(f"{carrier}: {delivered:,} delivered of {sent:,} sent to {subscribers:,} "
               f"subscribers (recorded {stamp})")
    if report.areas:
        click.echo(f"  by area: {len(report.areas)} areas hold "
                   f"{subscribers - report.unattributed:,} of those subscribers "
                   f"({report.unattributed:,} unattributed)")


def register(sms_group: click.Group) -> None:
    """Add the dispatch commands to the ``sms`` group."""
    for command in (send, status, resume, pause, cancel, serve_reports, simulator,
                    broadcast_order, broadcast_report):
        sms_group.add_command(command)
