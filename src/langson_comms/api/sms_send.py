"""Sending a campaign's SMS from Python: ``send_sms`` (what ``sms send`` and ``sms resume``
run), its events and its summary.

Everything the send opens — gateways, their HTTP clients, the report poller and receiver —
is closed when it returns, fails or is cancelled.  The environment (credentials, report
token) is checked before any audience is loaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

from ..clock import Clock
from ..errors import ConfigError, LedgerError
from ..runtime import Runtime
from ..scrub import scrubbing_logs
from ..sms.engine import DispatchEngine, load_prepared
from ..sms.gateway import SmsGateway
from ..sms.ledger import Ledger
from ..sms.reports import ReportPoller
from .sms_reports import report_options, start_report_receiver
from .sms_target import SmsTarget

__all__ = ["AudienceLoaded", "BreakerNotice", "PoliciesChosen", "SendEvent", "SendProgress",
           "SendSummary", "send_sms"]

log = logging.getLogger(__name__)


@attrs.frozen
class AudienceLoaded:
    """A prepared audience file was loaded into the ledger (``added`` new rows)."""

    file: str
    added: int
    present: int


@attrs.frozen
class PoliciesChosen:
    """The policies the send runs, and those skipped on record."""

    names: tuple[str, ...]
    exempt: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()


@attrs.frozen
class SendProgress:
    """Rows of the message by state; ``done`` of ``total`` are no longer queued or in
    flight.  The last event of a send has ``final`` set and the final counts."""

    total: int
    done: int
    counts: Mapping[str, int]
    sent: int
    rate: float
    #: gateway id → (breaker state, seconds to its next probe), for breakers not closed
    breakers: Mapping[str, tuple[str, float]] = attrs.field(factory=dict)
    final: bool = False


@attrs.frozen
class BreakerNotice:
    """A gateway's circuit breaker opened (``opened``) or closed: the operator's
    explanation of a pause in accepts."""

    text: str
    opened: bool


SendEvent = AudienceLoaded | PoliciesChosen | SendProgress | BreakerNotice


@attrs.frozen
class SendSummary:
    """How a send ended (``completed``, ``cancelled``, ``stopped``, ``deadline``) and the
    ledger's rows of the message by state afterwards."""

    outcome: str
    counts: Mapping[str, int]
    stats: Mapping[str, int]
    elapsed: float
    recovered: int = 0
    policies: Mapping[str, list[str]] = attrs.field(factory=dict)
    loaded: tuple[AudienceLoaded, ...] = ()

    @property
    def all_failed(self) -> bool:
        """Rows failed and none reached a gateway (``sms send`` exits 1)."""
        reached = self.counts["accepted"] + self.counts["delivered"] + self.counts["expired"]
        return bool(self.counts["failed"]) and not reached

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "counts": dict(self.counts),
                "stats": dict(self.stats), "elapsed": round(self.elapsed, 3),
                "recovered": self.recovered, "policies": dict(self.policies)}


ClientFactory = Callable[[SmsGateway], httpx.AsyncClient]
EventSink = Callable[[SendEvent], object]


async def send_sms(
    target: SmsTarget,
    *,
    runtime: Runtime | None = None,
    audience: str | Path | Iterable[str | Path] = (),
    resume: bool = False,
    on_event: EventSink | None = None,
    progress_every: float = 1.0,
    clock: Clock | None = None,
    client_factory: ClientFactory | None = None,
    serve_reports: bool = False,
    insecure: bool = False,
    wait_reports: float = 0.0,
    handle_signals: bool = False,
    environ: Mapping[str, str] | None = None,
) -> SendSummary:
    """Load prepared ``audience`` files (one name, or several) into the ledger
    (idempotent) and send the target's message through its gateways; ``resume`` first
    clears a pause or cancel.

    ``on_event`` gets ``AudienceLoaded``, ``PoliciesChosen``, ``BreakerNotice`` and, every
    ``progress_every`` seconds and once at the end (``final``), ``SendProgress``.
    ``client_factory`` makes each gateway's HTTP client (default: the gateway's own); every
    client and gateway is closed on return, failure or cancellation.  The report token
    and the ledger's password variable are read from ``environ`` (default ``os.environ``).
    Raises
    ``ConfigError`` (before loading anything: mode, credentials, report token),
    ``LedgerError`` (paused, cancelled, or ``SenderBusyError``: another sender has it),
    ``DataError`` (an audience file that is missing, not UTF-8 or not a prepared file).
    """
    if not progress_every > 0:  # 0 would count the ledger in a tight loop; NaN fails too
        raise ConfigError(f"progress_every = {progress_every!r}: expected seconds above 0",
                          key="progress_every")
    # loading plugins and building TLS contexts block for a while: never on the host's loop
    if runtime is None:
        runtime = await asyncio.to_thread(Runtime.create)
    clock = clock or runtime.clock
    emit = on_event or (lambda _event: None)
    channel = target.channel
    if channel.config.mode != "direct":
        raise ConfigError(
            f"[channels.{target.channel_key}] has mode = {channel.config.mode!r}: the carriers "
            "send (use 'sms broadcast-order'); set mode = \"direct\" to send through gateways",
            source=target.campaign.source, key=f"channels.{target.channel_key}.mode")
    options = (report_options(target, clock=clock, insecure=insecure, environ=environ)
               if serve_reports else None)
    gateways = await asyncio.to_thread(  # credentials: before any loading
        channel.build_gateways, runtime.registry)
    clients: list[httpx.AsyncClient] = []
    try:
        for gw in gateways.values():
            client = (client_factory(gw) if client_factory is not None
                      else await asyncio.to_thread(gw.make_client))
            clients.append(client)
            gw.bind_client(client)
        with target.open_ledger(environ) as ledger, target.lease(ledger) as lease, \
                scrubbing_logs(target.scrubber(environ)):
            loaded = await _load(target, audience, emit, environ)
            control = ledger.control(target.campaign.id, target.message.key)
            if resume:
                ledger.set_control(target.campaign.id, target.message.key, "running")
            elif control != "running":
                raise LedgerError(f"sending {target.message.key!r} is {control}; "
                                  "'sms resume' goes on")
            return await _run(runtime, target, ledger, lease, gateways, emit, clock=clock,
                              options=options, progress_every=progress_every,
                              wait_reports=wait_reports, handle_signals=handle_signals,
                              loaded=loaded, environ=environ)
    finally:
        await _close(gateways, clients)


async def _load(target: SmsTarget, audience: str | Path | Iterable[str | Path],
                emit: EventSink, environ: Mapping[str, str] | None = None,
                ) -> tuple[AudienceLoaded, ...]:
    """Load each file in a worker thread, on its own connection, so that the host's event
    loop keeps running (a million rows take minutes); ``emit`` is called on the loop."""
    loaded = []
    files = [audience] if isinstance(audience, str | Path) else audience  # one file, not its letters
    for file in files:
        added, present = await asyncio.to_thread(_load_file, target, str(file), environ)
        event = AudienceLoaded(str(file), added, present)
        emit(event)
        loaded.append(event)
    return tuple(loaded)


def _load_file(target: SmsTarget, file: str,
               environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    with target.open_ledger(environ) as ledger:
        return load_prepared(ledger, target.campaign.id, target.message, file)


async def _close(gateways: Mapping[str, SmsGateway], clients: list[httpx.AsyncClient]) -> None:
    for gw in gateways.values():  # sessions the gateways opened (an SMPP bind)
        try:
            await gw.close()
        except Exception as exc:  # closing must not hide the send's outcome
            log.warning("closing gateway %s failed: %s: %s", gw.gateway_id,
                        type(exc).__name__, exc)
    for client in clients:
        try:
            await client.aclose()
        except Exception as exc:
            log.warning("closing an HTTP client failed: %s: %s", type(exc).__name__, exc)


def _engine(runtime: Runtime, target: SmsTarget, ledger: Ledger, lease: Any,
            gateways: Mapping[str, SmsGateway], clock: Clock,
            environ: Mapping[str, str] | None = None) -> tuple[DispatchEngine, Any]:
    from ..sms.render import MessageRenderer

    channel, opts = target.channel, target.channel.config
    selection = channel.build_policies(runtime.registry, target.message)
    engine = DispatchEngine(
        ledger, gateways, channel.routing(), campaign=target.campaign.id,
        message=target.message, renderer=MessageRenderer(target.message,
                                                         channel.render_options()),
        policies=selection, clock=clock, retry=channel.retry_policy(),
        send_by=channel.send_by, sender=opts.brandname, claim_size=opts.claim_size,
        breaker=opts.breaker.settings(),
        report_timeout=(opts.report_timeout_hours * 3600
                        if opts.report_timeout_hours is not None else None),
        scrub=target.scrubber(environ).scrub, lease=lease,
    )
    return engine, selection


def _count(target: SmsTarget, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """The message's rows by state on a connection of its own, for a worker thread:
    counting scans the ledger (~0.1 s per 100,000 rows), too long for the host's loop."""
    with target.open_ledger(environ) as reader:
        return reader.counts(target.campaign.id, target.message.key)


def _progress(target: SmsTarget, ledger: Ledger, engine: DispatchEngine, start: float,
              final: bool = False, counts: dict[str, int] | None = None) -> SendProgress:
    if counts is None:
        counts = ledger.counts(target.campaign.id, target.message.key)
    total = sum(counts.values())
    sent = engine.stats["sent"]
    return SendProgress(
        total=total, done=total - counts["queued"] - counts["submitted"], counts=counts,
        sent=sent, rate=sent / max(1e-9, time.monotonic() - start),
        breakers={gid: (state.value, wait)
                  for gid, (state, wait) in sorted(engine.breaker_states().items())},
        final=final)


async def _run(runtime: Runtime, target: SmsTarget, ledger: Ledger, lease: Any,
               gateways: Mapping[str, SmsGateway], emit: EventSink, *, clock: Clock,
               options: dict[str, Any] | None, progress_every: float, wait_reports: float,
               handle_signals: bool, loaded: tuple[AudienceLoaded, ...],
               environ: Mapping[str, str] | None = None) -> SendSummary:
    engine, selection = _engine(runtime, target, ledger, lease, gateways, clock, environ)
    emit(PoliciesChosen(tuple(selection.names), tuple(selection.exempt),
                        tuple(selection.disabled)))
    stop_polling = asyncio.Event()
    poller = ReportPoller(ledger, list(gateways.values()),
                          interval=target.config.reports.poll_interval, clock=clock)
    poll_task = asyncio.create_task(poller.run(stop_polling)) if poller.gateways else None
    receiver = await start_report_receiver(target, ledger, options) if options else None
    start = time.monotonic()

    async def refresh() -> None:
        while True:  # counting scans the ledger: once a second is plenty, off the loop
            counts = await asyncio.to_thread(_count, target, environ)
            emit(_progress(target, ledger, engine, start, counts=counts))
            await asyncio.sleep(progress_every)

    refresher = asyncio.create_task(refresh())
    # the engine's listeners, not its log: the host's logging configuration is left alone
    engine.breaker_listeners.append(
        lambda _gid, text, opened: emit(BreakerNotice(text, opened)))
    try:
        result = await engine.run(handle_signals=handle_signals)
        if wait_reports > 0 and result.outcome == "completed":
            deadline = time.monotonic() + wait_reports
            while (ledger.counts(target.campaign.id, target.message.key)["accepted"]
                   and time.monotonic() < deadline and not engine.stopping):
                await asyncio.sleep(0.2)
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        stop_polling.set()
        if poll_task is not None:
            await poll_task
        if receiver is not None:
            await receiver.stop()
    final = _progress(target, ledger, engine, start, final=True)
    emit(final)
    return SendSummary(outcome=result.outcome, counts=final.counts, stats=dict(result.stats),
                       elapsed=result.elapsed, recovered=result.recovered,
                       policies=dict(result.policies), loaded=loaded)
