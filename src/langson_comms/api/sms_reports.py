"""The delivery-report endpoint of an SMS channel: its options, checked before anything is
sent, and ``serve_reports`` (what ``sms serve-reports`` runs)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..clock import Clock, SystemClock
from ..errors import ConfigError
from ..scrub import clean_secret, scrubbing_logs
from .sms_target import SmsTarget

if TYPE_CHECKING:
    from ..sms.reports import ReportReceiver

__all__ = ["report_options", "serve_reports", "start_report_receiver"]


def report_options(target: SmsTarget, *, clock: Clock | None = None, host: str | None = None,
                   port: int | None = None, insecure: bool = False,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``ReportReceiver`` options of a channel: ``<path>/<gateway id>`` per gateway, read
    with that gateway's ``reports.*`` format; the bare ``<path>`` for the only gateway
    (several: gateway not known, read with the default gateway's format).  A token is
    required unless ``insecure`` on a loopback host (``ConfigError`` naming the key).
    ``host``/``port`` replace ``reports.host``/``reports.port``; ``port=0``: any free port
    (the receiver's ``url`` says which)."""
    from ..sms.http_gateway import ReportFormat

    env = os.environ if environ is None else environ
    channel = target.channel
    cfg = channel.config
    formats: dict[str, ReportFormat] = {}
    for gid, table in cfg.gateways.items():
        formats[gid] = ReportFormat()
        if table.get("kind") == "generic_http" and "reports" in table:
            ctx = channel.context.child("gateways").child(gid).child("reports")
            formats[gid] = ctx.structure(table["reports"], ReportFormat)
    only = next(iter(formats)) if len(formats) == 1 else None
    default = cfg.default_gateway
    if isinstance(default, list):  # a route: its first gateway
        default = default[0] if default else None
    fmt = formats.get(only or default or "")
    token = None
    where = {"source": channel.context.source, "key": channel.context.path("reports.token_env")}
    if cfg.reports.token_env:
        token = env.get(cfg.reports.token_env)
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
                "only, pass insecure=True with a loopback host)", **where)
        from ..http_serving import is_loopback  # aiohttp: imported only here

        if not is_loopback(bind):
            raise ConfigError(f"serving without a token serves only on a loopback address, not "
                              f"{bind} (set token_env to serve beyond this machine)",
                              source=channel.context.source, key="insecure")
    return {"host": bind, "port": cfg.reports.port if port is None else port,
            "path": cfg.reports.path, "clock": clock or SystemClock(), "token": token,
            "formats": formats, "gateway": only, "fmt": fmt, "insecure": insecure,
            "max_reports": cfg.reports.max_reports,
            "max_body_bytes": cfg.reports.max_body_kb * 1024,
            "scrubber": target.scrubber(env)}


async def start_report_receiver(target: SmsTarget, ledger: Any, options: Mapping[str, Any]) -> ReportReceiver:
    """Start a ``ReportReceiver`` on ``ledger`` with ``options``; a host:port that cannot be
    listened on (in use, not this machine's) is a ``ConfigError`` naming ``reports.port``."""
    from ..sms.reports import ReportReceiver  # aiohttp: only when serving

    try:
        return await ReportReceiver(ledger, **options).start()
    except OSError as exc:
        channel = target.channel
        raise ConfigError(
            f"cannot listen for delivery reports on {options['host']}:{options['port']}: "
            f"{exc.strerror or exc} (expected a free port on this machine: stop what holds it, "
            "or choose another reports.port, or --port)",
            source=channel.context.source, key=channel.context.path("reports.port")) from None


async def serve_reports(target: SmsTarget, stop: asyncio.Event, *,
                        options: Mapping[str, Any] | None = None,
                        on_start: Callable[[ReportReceiver], object] | None = None,
                        environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Serve the channel's delivery-report endpoint until ``stop`` is set; its counters.
    ``options`` from ``report_options`` (default: with a token, on the configured host);
    secrets (report token, ledger password) are read from ``environ`` (default
    ``os.environ``)."""
    opts = dict(options if options is not None else report_options(target, environ=environ))
    with target.open_ledger(environ) as ledger, scrubbing_logs(opts["scrubber"]):
        receiver = await start_report_receiver(target, ledger, opts)
        try:
            if on_start is not None:
                on_start(receiver)
            await stop.wait()
        finally:
            await receiver.stop()
        return dict(receiver.counters)
