"""The SMS dispatch engine: from ledger rows to carrier ids, resumably and within limits.

One ``DispatchEngine`` sends one campaign message.  Its main loop claims due rows from
the ledger in batches (marking them ``submitted``), renders them, asks the compliance
policies (holds go back to the ledger with their ``until``: quiet hours are a hold, so
the engine sleeps until the window opens and goes on by itself), routes each row by its
carrier hint to a gateway *lane*, and lanes send.  A lane is one gateway with its own
rate limiter (messages and segments per second), circuit breaker and ``concurrency``
workers.  When a primary gateway's breaker is open, rows go to the fallback gateways.

Outcomes are written back in batches (``flush_rows`` rows or ``flush_interval``
seconds): accepted with the carrier id; transient errors back to ``queued`` with an
exponential, jittered backoff (at least the ``Retry-After``) until ``max_attempts``;
permanent errors ``failed`` with the reason, never retried; rows whose next try would
fall after ``send_by`` ``expired``.  A crash (kill -9) leaves at most the rows in flight
``submitted``; the next run puts them back to ``queued`` with the same idempotency key.

Pause and cancel come from the ledger's control table (so another process — ``sms
pause`` — can steer a running sender) or from ``pause()``/``cancel()``; ``stop()``
(SIGINT/SIGTERM) stops claiming, waits for requests in flight and records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

import attrs
import pendulum

from ..clock import Clock, SystemClock, timestamp_of
from ..errors import (
    DataError,
    GatewayError,
    LangsonCommsError,
    LedgerError,
    PermanentGatewayError,
    SenderBusyError,
    TransientGatewayError,
)
from ..messages import Message
from .breaker import BreakerEvent, BreakerState, CircuitBreaker
from .encoding import Encoding, SmsCost, analyse
from .gateway import FATAL_STATUSES, OutgoingSms, SmsGateway, SubmitResult, own_gateway_ids
from .lease import SenderLease
from .ledger import LedgerSendHistory, LedgerStore, QueuedSms, Result, SmsState
from .policies import Action, Decision, PolicyContext, PolicySet, SmsItem
from .policy_selection import PolicySelection
from .ratelimit import RateLimiter, clock_seconds
from .render import MessageRenderer, RenderedSms

__all__ = ["BreakerSettings", "DispatchEngine", "DispatchSummary", "RetryPolicy", "Routing",
           "load_prepared"]

log = logging.getLogger(__name__)

#: How long rows for a saturated gateway wait in the ledger before being claimed again.
DEFER_SECONDS = 0.05

#: How far back the per-batch send-history prefetch reads (longer windows query per row).
HISTORY_PREFETCH_SECONDS = 7 * 86400

#: The reason kept on a row the gateway said it had already accepted, without an id.
ALREADY_ACCEPTED = "already accepted by the gateway (a resend of the same key); carrier id unknown"

_UCS2 = Encoding.UCS2
_ACCEPTED = SmsState.ACCEPTED


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter: try ``n`` waits ``base_delay * 2**(n-1)`` (capped
    at ``max_delay``) less a random share up to ``jitter``; at least the Retry-After."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 300.0
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        raw = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        wait = raw * (1.0 - self.jitter * rng.random())
        return float(max(wait, retry_after or 0.0))


@attrs.frozen
class Routing:
    """Carrier hint → gateway id; ``default`` for unrouted carriers; ``fallback`` in order."""

    routes: Mapping[str, str] = attrs.field(factory=dict)
    default: str | None = None
    fallback: tuple[str, ...] = ()

    def candidates(self, carrier_hint: str) -> tuple[str, ...]:
        first = self.routes.get(carrier_hint, self.default)
        order = ([first] if first else []) + [g for g in self.fallback if g != first]
        return tuple(order)


@attrs.frozen
class DispatchSummary:
    """How a run ended: ``completed``, ``cancelled``, ``stopped`` (signal), ``deadline``."""

    outcome: str
    counts: Mapping[str, int]
    stats: Mapping[str, int]
    elapsed: float
    recovered: int = 0
    #: applied / exempt / disabled policy names (``PolicySelection.as_dict``)
    policies: Mapping[str, list[str]] = attrs.field(factory=dict)


class _Pending(NamedTuple):
    row: QueuedSms
    sms: OutgoingSms
    candidates: tuple[str, ...]


@attrs.frozen
class BreakerSettings:
    """The circuit breaker of every lane (``CircuitBreaker``; docs/sms-dispatch.md, "Tuning
    for lossy links"): open when ``threshold`` of the last ``window`` requests failed and
    they are ``error_rate`` of them; probe after ``reset_after`` seconds, doubled after
    each failed probe up to ``max_reset_after``."""

    threshold: int = 5
    reset_after: float = 1.0
    window: int = 40
    error_rate: float = 0.5
    max_reset_after: float = 30.0


class _Lane:
    def __init__(self, gateway: SmsGateway, clock: Clock, breaker: BreakerSettings,
                 monotonic: Callable[[], float], claim_size: int,
                 on_change: Callable[[BreakerEvent], None]) -> None:
        caps = gateway.capabilities
        self.gateway = gateway
        self.limiter = RateLimiter(caps.rate_msgs, caps.rate_segments, burst=caps.burst,
                                   monotonic=monotonic, sleep=clock.sleep)
        self.breaker = CircuitBreaker(
            breaker.threshold, breaker.reset_after, window=breaker.window,
            error_rate=breaker.error_rate, max_reset_after=breaker.max_reset_after,
            monotonic=monotonic, on_change=on_change)
        # Room for about one claim of rows: enough to keep workers busy, small enough
        # that few rows sit claimed-but-unsent (they are resent after a crash).
        self.queue: asyncio.Queue[tuple[list[_Pending], bool] | None] = asyncio.Queue(
            max(caps.concurrency * 2, -(-claim_size // caps.max_batch))
        )
        self.workers: list[asyncio.Task[None]] = []

    @property
    def limited(self) -> bool:
        return not self.limiter.unlimited or self.limiter.blocked

    @property
    def room(self) -> int:
        """How many more rows the queue takes."""
        return (self.queue.maxsize - self.queue.qsize()) * self.gateway.capabilities.max_batch

    def sendable(self) -> tuple[int, bool]:
        """(rows this lane can send now, whether its breaker is closed): its room when
        closed, one probe's worth when half-open with no probe out, else none."""
        state = self.breaker.state
        if state is BreakerState.CLOSED:
            return self.room, True
        if state is BreakerState.HALF_OPEN and not self.breaker.probing:
            return min(self.room, self.gateway.capabilities.max_batch), False
        return 0, False


class DispatchEngine:
    """Sends one campaign message to the rows of the ledger (see the module docstring)."""

    def __init__(
        self,
        ledger: LedgerStore,
        gateways: Mapping[str, SmsGateway],
        routing: Routing,
        *,
        campaign: str,
        message: Message,
        renderer: MessageRenderer | Callable[[Mapping[str, str]], RenderedSms] | None = None,
        policies: PolicySet | PolicySelection | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        send_by: pendulum.DateTime | None = None,
        sender: str | None = None,
        claim_size: int = 500,
        flush_rows: int = 1000,
        flush_interval: float = 0.1,
        idle_poll: float = 1.0,
        breaker_threshold: int = 5,
        breaker_reset: float = 1.0,
        breaker: BreakerSettings | None = None,
        report_timeout: float | None = None,
        seed: int | None = None,
        scrub: Callable[[str], str] | None = None,
        lease: SenderLease | None = None,
    ) -> None:
        if not gateways:
            raise LangsonCommsError("the engine needs at least one gateway")
        for gid in {*routing.routes.values(), *routing.fallback,
                    *([routing.default] if routing.default else [])}:
            if gid not in gateways:
                raise LangsonCommsError(
                    f"routing names gateway {gid!r}, which is not configured "
                    f"(gateways: {', '.join(sorted(gateways))})"
                )
        self.ledger = ledger
        self.gateways = own_gateway_ids(gateways)  # rows and reports use the routing key
        self.routing = routing
        self.campaign = campaign
        self.message = message
        self.clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.send_by = send_by
        self.sender = sender
        self.claim_size = claim_size
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.idle_poll = idle_poll
        self.report_timeout = report_timeout
        #: clears configured secrets from a failure reason before it is recorded
        self.scrub = scrub
        #: one sender per (campaign, message): held for the whole run (sms/lease.py)
        self.lease = lease or SenderLease(ledger, campaign, message.key)
        if not isinstance(policies, PolicySelection):
            policies = PolicySelection(policies or PolicySet(()))
        self.selection = policies
        self.policies = policies.policies
        self._msg_policies = self.policies.of_scope("message")
        self._rcp_policies = self.policies.of_scope("recipient")
        self._history = LedgerSendHistory(ledger)
        if renderer is None:
            renderer = MessageRenderer(message)
        self._render: Callable[[], RenderedSms] | None
        if isinstance(renderer, MessageRenderer):
            # A message without template fields renders the same for everyone: once.
            self._render = (functools.lru_cache(maxsize=1)(lambda: renderer.render({}))
                            if not renderer.fields else None)
            self._render_fields: Callable[[Mapping[str, str]], RenderedSms] = renderer.render
        else:
            self._render = None
            self._render_fields = renderer
        self._analyse = functools.lru_cache(maxsize=4096)(analyse)
        self._verdicts: dict[tuple[str, pendulum.DateTime], tuple[str, SmsCost,
                                                                  Decision | None]] = {}
        self._routes: dict[tuple[str, SmsCost], tuple[str, ...]] = {}
        self._rng = random.Random(seed)
        self._seconds = clock_seconds(self.clock)
        self._epoch = timestamp_of(self.clock)
        if breaker is None:
            breaker = BreakerSettings(breaker_threshold, breaker_reset,
                                      max_reset_after=max(30.0, breaker_reset),
                                      window=max(40, breaker_threshold))
        self.breaker_settings = breaker
        self._lanes = {
            gid: _Lane(g, self.clock, breaker, self._seconds, claim_size,
                       functools.partial(self._breaker_changed, gid))
            for gid, g in self.gateways.items()
        }
        self._results: list[Result] = []
        self._last_flush = time.monotonic()
        self._stop = False
        self._draining = False
        self._sending = 0
        self._paused = False
        self._cancelled = False
        self._fatal: GatewayError | None = None
        self._crash: Exception | None = None
        # Set while nothing may start (see ``_holding``): wakes workers waiting on a rate
        # limit or a Retry-After, so stop/pause/cancel never wait those out.
        self._halt = asyncio.Event()
        self._due_second = -1  # _still_due's verdicts, per text, for this second
        self._due_verdicts: dict[str, Decision | None] = {}
        self._due_ctx: PolicyContext | None = None
        self.stats: Counter[str] = Counter()

    # -- steering ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; requests in flight finish and are recorded (SIGINT/SIGTERM)."""
        self._stop = True
        self._update_halt()

    @property
    def stopping(self) -> bool:
        return self._stop

    def pause(self) -> None:
        self.ledger.set_control(self.campaign, self.message.key, "paused")

    def resume(self) -> None:
        self.ledger.set_control(self.campaign, self.message.key, "running")

    def cancel(self) -> None:
        self.ledger.set_control(self.campaign, self.message.key, "cancelled")

    # -- circuit breakers ----------------------------------------------------------------

    def _breaker_changed(self, gid: str, event: BreakerEvent) -> None:
        """Log, count and store every open and close (``sms status`` shows them)."""
        self.stats[f"breaker_{event.kind}"] += 1
        reason = self.scrub(event.reason) if self.scrub is not None else event.reason
        if event.kind == "close":
            log.info("gateway %s: circuit closed (%s)", gid, reason,
                     extra={"breaker": gid})
        else:
            log.warning("gateway %s: circuit %s (%s); next probe in %.1f s", gid,
                        "open" if event.kind == "open" else "still open", reason,
                        event.next_probe_in or 0.0, extra={"breaker": gid})
        try:
            self.ledger.record_breaker_event(self.campaign, self.message.key, gid, event.kind,
                                             reason, event.open_seconds, self._now())
        except Exception as exc:  # the event is logged; sending goes on
            log.error("could not store the breaker event of %s: %s", gid, exc)

    def breaker_states(self) -> dict[str, tuple[BreakerState, float]]:
        """Every lane whose breaker is not closed: (state, seconds until its next probe)."""
        now = self._seconds()
        return {gid: (lane.breaker.state, max(0.0, lane.breaker.retry_at - now))
                for gid, lane in self._lanes.items()
                if lane.breaker.state is not BreakerState.CLOSED}

    # -- results -----------------------------------------------------------------------

    def _now(self) -> float:
        return self._epoch()

    def _add(self, results: Iterable[Result]) -> None:
        self._results.extend(results)
        if len(self._results) >= self.flush_rows:
            self._flush()

    def _maybe_flush(self) -> None:
        if self._results and time.monotonic() - self._last_flush >= self.flush_interval:
            self._flush()

    def _flush(self) -> None:
        results, self._results = self._results, []
        self._last_flush = time.monotonic()
        if results and self.scrub is not None:
            scrub = self.scrub
            results = [r._replace(reason=scrub(r.reason)) if r.reason else r for r in results]
        if results:
            try:
                self.ledger.record(results, self._now())
            except Exception as exc:  # disk full…: stop; the rows stay submitted (resumable)
                if self._crash is None:
                    self._crash = exc
                    self._update_halt()

    # -- preparing rows ----------------------------------------------------------------

    def _cost(self, text: str) -> SmsCost:
        return self._analyse(text)

    def _prepare(self, rows: Sequence[QueuedSms], now: pendulum.DateTime) -> list[_Pending]:
        """Render and check rows; returns the ones to send, records the others.

        Per claim, not per row where it can be: message-scope policies once per distinct
        text, recipient-scope policies once for the whole claim (``screen_batch``: set
        lookups and one history read, no per-row objects when everyone passes), routing
        candidates once per (carrier, encoding, parts)."""
        ctx = PolicyContext(now=now, history=self._history)
        deadline = self.send_by.timestamp() if self.send_by is not None else None
        held: list[Result] = []
        # 1. render and apply message-scope policies (cached per rendered text)
        live: list[QueuedSms] = []
        texts: list[str] = []
        costs: list[SmsCost] = []
        if self._render is not None:
            try:
                rendered = self._render()
            except DataError as exc:
                reason = f"render: {exc.message}"
                held.extend(Result(r.id, SmsState.FAILED, attempted=False, reason=reason)
                            for r in rows)
                self.stats["failed"] += len(rows)
                self._add(held)
                return []
            text, cost, deciding = self._message_verdict(rendered, ctx)
            if deciding is not None:
                for row in rows:
                    held.append(self._not_now(row, deciding, deadline))
                self._add(held)
                return []
            live = list(rows)
            texts = [text] * len(live)
            costs = [cost] * len(live)
        else:
            for row in rows:
                try:
                    rendered = self._render_fields(row.fields or {})
                except DataError as exc:
                    held.append(Result(row.id, SmsState.FAILED, attempted=False,
                                       reason=f"render: {exc.message}"))
                    self.stats["failed"] += 1
                    continue
                text, cost, deciding = self._message_verdict(rendered, ctx)
                if deciding is not None:
                    held.append(self._not_now(row, deciding, deadline))
                    continue
                live.append(row)
                texts.append(text)
                costs.append(cost)
        # 2. recipient-scope policies, for the whole claim at once
        verdicts: dict[int, tuple[Decision | None, str]] = {}
        if self._rcp_policies.policies and live:
            msisdns = [r.msisdn for r in live]
            # one query for the batch instead of one per row (the frequency cap asks)
            self._history.prefetch(msisdns, now.timestamp() - HISTORY_PREFETCH_SECONDS)
            try:
                verdicts = self._rcp_policies.screen_batch(
                    self.message, texts, msisdns, [r.fields for r in live], ctx)
            finally:
                self._history.clear()
        # 3. route; build what the lanes send
        ready: list[_Pending] = []
        routes = self._routes
        sender = self.sender
        for i, row in enumerate(live):
            text, cost = texts[i], costs[i]
            verdict = verdicts.get(i) if verdicts else None
            if verdict is not None:
                deciding, new_text = verdict
                if deciding is not None:
                    held.append(self._not_now(row, deciding, deadline))
                    continue
                if new_text != text:
                    text, cost = new_text, self._cost(new_text)
            key = (row.carrier_hint, cost)
            candidates = routes.get(key)
            if candidates is None:
                candidates = routes[key] = self._candidates(row.carrier_hint, cost)
            if not candidates:
                held.append(Result(row.id, SmsState.FAILED, attempted=False, segments=cost.segments,
                                   reason=f"no gateway takes this message ({cost.encoding}, "
                                          f"{cost.segments} parts) for carrier {row.carrier_hint}"))
                self.stats["failed"] += 1
                continue
            ready.append(_Pending(row, OutgoingSms(
                row.id, row.msisdn, text, cost.segments, cost.encoding is _UCS2,
                row.idempotency_key, sender), candidates))
        self._add(held)
        return ready

    def _message_verdict(self, rendered: RenderedSms, ctx: PolicyContext) -> tuple[
        str, SmsCost, Decision | None
    ]:
        """Message-scope policies for one rendered text (cached per text and ``now``):
        the text after rewrites, its cost, and the suppression or hold, if any."""
        key = (rendered.text, ctx.now)
        found = self._verdicts.get(key)
        if found is None:
            text, cost, deciding = rendered.text, rendered.cost, None
            if self._msg_policies.policies:
                outcome = self._msg_policies.evaluate(SmsItem(self.message, text), ctx)
                if outcome.action is Action.SUPPRESS or outcome.action is Action.HOLD:
                    deciding = outcome.deciding
                elif outcome.text != text:
                    text, cost = outcome.text, self._cost(outcome.text)
            if len(self._verdicts) > 1024:
                self._verdicts.clear()
            found = self._verdicts[key] = (text, cost, deciding)
        return found

    def _candidates(self, carrier_hint: str, cost: SmsCost) -> tuple[str, ...]:
        unicode = cost.encoding is _UCS2
        return tuple(
            gid for gid in self.routing.candidates(carrier_hint)
            if (not unicode or self.gateways[gid].capabilities.supports_unicode)
            and cost.segments <= self.gateways[gid].capabilities.max_parts
        )

    def _not_now(self, row: QueuedSms, deciding: Decision, deadline: float | None) -> Result:
        """A policy suppressed or held ``row``: the result to record."""
        why = deciding.describe()
        if deciding.action is Action.SUPPRESS:
            self.stats["suppressed"] += 1
            return Result(row.id, SmsState.SUPPRESSED, attempted=False, reason=why)
        until = deciding.until
        assert until is not None
        if deadline is not None and until.timestamp() >= deadline:
            self.stats["expired"] += 1
            return Result(row.id, SmsState.EXPIRED, attempted=False,
                          reason=f"send-by deadline falls inside a hold: {why}")
        self.stats["held"] += 1
        return Result(row.id, SmsState.QUEUED, attempted=False, reason=why,
                      next_at=until.timestamp())

    # -- routing and sending -----------------------------------------------------------

    def _dispatch(self, pending: list[_Pending]) -> None:
        by_lane: dict[str, list[_Pending]] = {}
        parked: list[Result] = []
        chosen: dict[tuple[str, ...], str] = {}  # closed breakers do not change in here
        probes: dict[str, int] = {}  # half-open lane → rows its one probe may still take
        for item in pending:
            candidates = item.candidates
            lane_id = chosen.get(candidates) or self._pick(candidates, chosen, probes)
            if lane_id is None:
                breakers = [self._lanes[g].breaker for g in candidates]
                wait = min(b.retry_at for b in breakers) - self._seconds()
                if wait <= 0:  # a probe is out (half-open): not before it can have answered
                    wait = min(b.delay for b in breakers) / 2
                wait = max(DEFER_SECONDS, wait)
                parked.append(Result(item.row.id, SmsState.QUEUED, attempted=False,
                                     reason="every gateway for this carrier is failing "
                                            "(circuit open)", next_at=self._now() + wait))
                continue
            by_lane.setdefault(lane_id, []).append(item)
        self._add(parked)
        deferred: list[Result] = []
        later = self._now() + DEFER_SECONDS
        for lane_id, items in by_lane.items():
            lane = self._lanes[lane_id]
            size = lane.gateway.capabilities.max_batch
            probe = lane_id in probes
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                if lane.queue.full():
                    # This gateway is saturated: its rows wait in the ledger instead of
                    # holding back rows bound for other gateways.
                    deferred.extend(Result(p.row.id, SmsState.QUEUED, attempted=False,
                                           next_at=later) for p in chunk)
                    if probe:
                        lane.breaker.cancel_probe()
                else:
                    lane.queue.put_nowait((chunk, probe))
        if deferred:
            self.stats["deferred"] += len(deferred)
            self._add(deferred)

    def _pick(self, candidates: tuple[str, ...], chosen: dict[tuple[str, ...], str],
              probes: dict[str, int]) -> str | None:
        """The first candidate whose breaker lets rows through: closed, or half-open with
        room left in its single probe (one request's worth of rows)."""
        for gid in candidates:
            lane = self._lanes[gid]
            state = lane.breaker.state
            if state is BreakerState.CLOSED:
                chosen[candidates] = gid
                return gid
            if state is BreakerState.HALF_OPEN:
                if gid not in probes:
                    probes[gid] = lane.gateway.capabilities.max_batch if lane.breaker.allow() else 0
                if probes[gid] > 0:
                    probes[gid] -= 1
                    return gid
        return None

    async def _worker(self, lane: _Lane) -> None:
        try:
            await self._work(lane)
        except Exception as exc:  # the ledger failed (disk full…): stop, say why
            self._crash = exc
            self._update_halt()
            raise

    async def _work(self, lane: _Lane) -> None:
        while True:
            item = await lane.queue.get()
            if item is None:
                return
            chunk, probe = item
            self._sending += 1
            sent = False
            try:
                if (not probe and lane.breaker.state is not BreakerState.CLOSED
                        and not any(len(p.candidates) > 1 for p in chunk)):
                    # The breaker opened while this chunk waited and it has nowhere else
                    # to go: wait for the breaker here (as its probe, or until it
                    # closes) instead of going back to be claimed again.
                    waited = await self._wait_for_breaker(lane)
                    if waited is None:
                        self._give_back(chunk)  # stopping, paused…: nothing was spent
                        continue
                    probe = waited
                if self._holding() or (lane.limited and not await self._acquire(lane, chunk)):
                    self._give_back(chunk)  # stopping, paused…: nothing was spent
                elif not probe and lane.breaker.state is not BreakerState.CLOSED:
                    # The breaker opened while this chunk waited: route it again (to a
                    # fallback, or parked until the probe), without using an attempt.
                    self.stats["rerouted"] += len(chunk)
                    self._give_back(chunk)
                else:
                    chunk = self._still_due(chunk)
                    if chunk:
                        sent = True
                        await self._send(lane, chunk)
            finally:
                self._sending -= 1
                if probe and not sent:
                    lane.breaker.cancel_probe()  # another probe may go

    async def _wait_for_breaker(self, lane: _Lane) -> bool | None:
        """Wait until ``lane``'s breaker closes (False) or lets this worker's chunk go as
        its probe (True); None when the engine halts first (stop, pause, cancel)."""
        breaker = lane.breaker
        while not self._holding():
            state = breaker.state
            if state is BreakerState.CLOSED:
                return False
            if state is BreakerState.HALF_OPEN and breaker.allow():
                return True
            # open: until the probe may go; a probe out: until it answers
            wait = breaker.retry_at - self._seconds()
            wait = 0.005 if wait <= 0 else min(wait, self.idle_poll)
            sleep = asyncio.ensure_future(self.clock.sleep(wait))
            halt = asyncio.ensure_future(self._halt.wait())
            try:
                await asyncio.wait((sleep, halt), return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleep, halt):
                    if not task.done():
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await task
        return None

    async def _acquire(self, lane: _Lane, chunk: list[_Pending]) -> bool:
        """Wait for the lane's rate limit (and Retry-After); False when the engine halts
        first (stop, pause, cancel, a fatal error): then nothing was debited."""
        msgs, segments = len(chunk), sum(p.sms.segments for p in chunk)
        if lane.limiter.try_acquire(msgs, segments):
            return True
        acquire = asyncio.ensure_future(lane.limiter.acquire(msgs, segments))
        halt = asyncio.ensure_future(self._halt.wait())
        try:
            await asyncio.wait((acquire, halt), return_when=asyncio.FIRST_COMPLETED)
        finally:
            halt.cancel()
            if not acquire.done():
                acquire.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await acquire
        if acquire.cancelled():
            return False
        acquire.result()  # a failing clock or limiter is an error, not a halt
        return not self._holding()

    def _still_due(self, chunk: list[_Pending]) -> list[_Pending]:
        """Rows are checked when claimed, but may wait (rate limit, Retry-After) long
        enough for the send-by deadline to pass or the sending window to close: check the
        deadline and the message-scope policies again just before sending."""
        ts = self._epoch()
        deadline = self.send_by.timestamp() if self.send_by is not None else None
        if deadline is not None and ts >= deadline:
            self._give_back(chunk)  # the run ends "deadline" and expires them
            return []
        if not self._msg_policies.policies:
            return chunk
        # Verdicts are kept for the current second: rules change on whole seconds (07:00,
        # 22:00), and one message per request would otherwise pay for every policy twice.
        second = int(ts)
        if second != self._due_second:
            self._due_second, self._due_verdicts = second, {}
            self._due_ctx = PolicyContext(now=self.clock.now(), history=self._history)
        verdicts, ctx = self._due_verdicts, self._due_ctx
        assert ctx is not None
        due: list[_Pending] = []
        held: list[Result] = []
        for p in chunk:
            text = p.sms.text
            if text not in verdicts:
                outcome = self._msg_policies.evaluate(SmsItem(self.message, text), ctx)
                verdicts[text] = (outcome.deciding if outcome.action in (Action.SUPPRESS,
                                                                         Action.HOLD) else None)
            deciding = verdicts[text]
            if deciding is None:
                due.append(p)
            else:
                held.append(self._not_now(p.row, deciding, deadline))
        self._add(held)
        return due

    def _holding(self) -> bool:
        """Do not start new requests: stopping, paused, cancelled or a fatal error."""
        return (self._stop or self._draining or self._paused or self._cancelled
                or self._fatal is not None or self._crash is not None)

    def _update_halt(self) -> None:
        if self._holding():
            self._halt.set()
        else:
            self._halt.clear()

    def _give_back(self, chunk: list[_Pending]) -> None:
        self._add(Result(p.row.id, SmsState.QUEUED, attempted=False) for p in chunk)

    async def _send(self, lane: _Lane, chunk: list[_Pending]) -> None:
        gid = lane.gateway.gateway_id
        self.stats["requests"] += 1
        self.stats["sent"] += len(chunk)
        try:
            results = await lane.gateway.send([p.sms for p in chunk])
        except TransientGatewayError as exc:
            if exc.status == 429:
                lane.breaker.cancel_probe()  # "slow down" says nothing of the link's health
            else:
                lane.breaker.record_failure(str(exc))
            if exc.retry_after:
                lane.limiter.block_for(exc.retry_after)
            self.stats["transient_errors"] += 1
            self._add(self._retry(p, exc, gid) for p in chunk)
            return
        except PermanentGatewayError as exc:
            if exc.status in FATAL_STATUSES:
                self._fatal = exc
                self._update_halt()
                self._add(Result(p.row.id, SmsState.QUEUED, attempted=False,
                                 reason=str(exc)) for p in chunk)
                return
            lane.breaker.record_success()  # the link answered (and a probe is over)
            self.stats["failed"] += len(chunk)
            self._add(Result(p.row.id, SmsState.FAILED, gateway=gid, segments=p.sms.segments,
                             reason=str(exc)) for p in chunk)
            return
        except GatewayError as exc:  # a plugin raised the base class: treat as transient
            lane.breaker.record_failure(str(exc))
            self._add(self._retry(p, exc, gid) for p in chunk)
            return
        except Exception as exc:  # a plugin bug must not stop the other lanes
            log.warning("gateway %s raised %s: %s", gid, type(exc).__name__, exc)
            lane.breaker.record_failure(f"{type(exc).__name__}: {exc}")
            error = TransientGatewayError(f"gateway raised {type(exc).__name__}: {exc}",
                                          gateway=gid)
            self._add(self._retry(p, error, gid) for p in chunk)
            return
        lane.breaker.record_success()
        by_ref: dict[int, SubmitResult] = {r.ref: r for r in results}
        out: list[Result] = []
        accepted = 0
        for p in chunk:
            row_id = p.row.id
            r = by_ref.get(row_id)
            if r is None:
                out.append(self._retry(p, TransientGatewayError(
                    "the gateway did not answer for this message", gateway=gid), gid))
            elif r.error is None and r.carrier_id is not None:  # r.accepted, inline
                accepted += 1
                out.append(Result(row_id, _ACCEPTED, True, gid, r.carrier_id,
                                  r.parts or p.sms.segments))
            elif r.error is None and r.already_accepted:  # a resend the vendor had taken
                accepted += 1
                self.stats["already_accepted"] += 1
                out.append(Result(row_id, _ACCEPTED, True, gid, None, r.parts or p.sms.segments,
                                  reason=ALREADY_ACCEPTED))
            elif isinstance(r.error, PermanentGatewayError):
                self.stats["failed"] += 1
                out.append(Result(p.row.id, SmsState.FAILED, gateway=gid, segments=p.sms.segments,
                                  reason=str(r.error)))
            else:
                out.append(self._retry(p, r.error or TransientGatewayError(
                    "no carrier id", gateway=gid), gid))
        if accepted:
            self.stats["accepted"] += accepted
        self._add(out)

    def _retry(self, item: _Pending, exc: GatewayError, gid: str) -> Result:
        attempts = item.row.attempts + 1
        reason = f"attempt {attempts}: {exc}"
        if attempts >= self.retry.max_attempts:
            self.stats["failed"] += 1
            return Result(item.row.id, SmsState.FAILED, gateway=gid,
                          reason=f"gave up after {attempts} attempts; last: {exc}")
        retry_after = exc.retry_after if isinstance(exc, TransientGatewayError) else None
        next_at = self._now() + self.retry.delay(attempts, self._rng, retry_after)
        if self.send_by is not None and next_at >= self.send_by.timestamp():
            self.stats["expired"] += 1
            return Result(item.row.id, SmsState.EXPIRED, gateway=gid,
                          reason=f"send-by deadline reached while retrying; last: {exc}")
        self.stats["retried"] += 1
        return Result(item.row.id, SmsState.QUEUED, gateway=gid, reason=reason, next_at=next_at)

    # -- the main loop -----------------------------------------------------------------

    def _control(self) -> str:
        lost = self.lease.lost
        if lost is not None and self._crash is None:  # another sender may be sending now
            self._crash = SenderBusyError(lost)
        state = self.ledger.control(self.campaign, self.message.key)
        self._paused = state == "paused"
        self._cancelled = state == "cancelled"
        self._update_halt()
        return state

    def _busy(self) -> bool:
        return any(lane.queue.qsize() for lane in self._lanes.values()) or self._sending > 0

    async def run(self, *, handle_signals: bool = False) -> DispatchSummary:
        """Send until nothing is due, the deadline passes, or someone pauses/cancels/stops.

        Holds the sending lease throughout: ``SenderBusyError`` when another sender has it.
        """
        with self.lease:
            return await self._run(handle_signals=handle_signals)

    async def _run(self, *, handle_signals: bool) -> DispatchSummary:
        started = time.monotonic()
        key = self.message.key
        self.selection.log(log, self.message, "[channels.sms.policies] disable")
        recovered = self.ledger.recover_in_flight(self.campaign, key)
        self._expire_unreported()
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        for lane in self._lanes.values():
            lane.workers = [asyncio.create_task(self._worker(lane))
                            for _ in range(lane.gateway.capabilities.concurrency)]
        outcome = "completed"
        last_control = -1e9
        try:
            while True:
                if self._stop:
                    outcome = "stopped"
                    break
                if self._fatal is not None or self._crash is not None:
                    outcome = "failed"
                    break
                if time.monotonic() - last_control >= 0.2:
                    last_control = time.monotonic()
                    self._control()
                if self._cancelled:
                    outcome = "cancelled"
                    break
                if self._paused:
                    self._maybe_flush()
                    await asyncio.sleep(0.05)  # wall time: pausing is an operator's act
                    continue
                now = self.clock.now()
                ts = now.timestamp()
                if self.send_by is not None and ts >= self.send_by.timestamp():
                    outcome = "deadline"
                    break
                self._maybe_flush()
                room, closed = 0, False
                for lane in self._lanes.values():
                    rows_now, lane_closed = lane.sendable()
                    room += rows_now
                    closed = closed or lane_closed
                if not room and not closed:
                    # Claim only what can be sent: every breaker is open (or has its probe
                    # out); claimed rows would only go back (issue 13: 222,170 claims for
                    # 13,328 accepts).  Wait for the next probe, or for the one out.
                    if not self._busy():
                        self._flush()
                        if self.ledger.next_due(self.campaign, key) is None:
                            break  # nothing left to send
                    await self._wait_for_breakers(ts)
                    continue
                room = min(self.claim_size, room)
                if closed and room < self.claim_size // 2:
                    await asyncio.sleep(0.002)  # lanes are full: let workers drain them
                    continue
                rows = self.ledger.claim(self.campaign, key, ts, room)
                if rows:
                    self.stats["claimed"] += len(rows)
                    self._dispatch(self._prepare(rows, now))
                    await asyncio.sleep(0)  # let the lanes start on it
                    continue
                if self._busy():
                    await asyncio.sleep(0.005)
                    continue
                self._flush()
                due = self.ledger.next_due(self.campaign, key)
                if due is None:
                    break
                # At least 1 ms: clocks tick in microseconds, and ts + (due - ts) can
                # round to just below ``due``.
                wait = min(max(0.001, due - ts), self.idle_poll)
                if self.send_by is not None:
                    wait = min(wait, max(0.0, self.send_by.timestamp() - ts))
                await self.clock.sleep(wait)
        finally:
            await self._shutdown()
            if handle_signals:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        now_ts = self._now()
        if outcome == "cancelled":
            self.ledger.finish_queued(self.campaign, key, SmsState.CANCELLED,
                                      "cancelled by operator", now_ts)
        elif outcome == "deadline":
            self.ledger.finish_queued(self.campaign, key, SmsState.EXPIRED,
                                      "send-by deadline passed before sending", now_ts)
        if isinstance(self._crash, SenderBusyError):
            raise SenderBusyError(f"sending stopped: {self._crash}") from self._crash
        if self._crash is not None:
            raise LedgerError(f"sending stopped: {type(self._crash).__name__}: "
                              f"{self._crash}") from self._crash
        self._expire_unreported()
        if self._fatal is not None:
            raise self._fatal
        return DispatchSummary(outcome, self.ledger.counts(self.campaign, key), dict(self.stats),
                               time.monotonic() - started, recovered, self.selection.as_dict())

    async def _wait_for_breakers(self, ts: float) -> None:
        """Nothing can be sent until a breaker lets a probe through (or the probe out
        answers): flush, then sleep until then, at most ``idle_poll``."""
        self._maybe_flush()
        if self._busy():
            # a probe is in flight, or workers wait on their breaker: their turn
            await asyncio.sleep(0.02)
            return
        now = self._seconds()
        wait = min(lane.breaker.retry_at for lane in self._lanes.values()) - now
        wait = min(max(0.001, wait), self.idle_poll)
        if self.send_by is not None:
            wait = min(wait, max(0.0, self.send_by.timestamp() - ts))
        await self.clock.sleep(wait)

    def _expire_unreported(self) -> None:
        if self.report_timeout is not None:
            now = self._now()
            n = self.ledger.expire_unreported(self.campaign, self.message.key,
                                              now - self.report_timeout, now)
            self.stats["unreported_expired"] += n

    async def _shutdown(self) -> None:
        """Let queued chunks drain back, wait for requests in flight, record everything."""
        self._draining = True
        self._update_halt()
        for lane in self._lanes.values():
            for _ in lane.workers:
                await lane.queue.put(None)
        workers = [w for lane in self._lanes.values() for w in lane.workers]
        if workers:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*workers, return_exceptions=True)
        self._flush()



def load_prepared(
    ledger: LedgerStore, campaign: str, message: Message, path: str, *, now: float | None = None
) -> tuple[int, int]:
    """Load a prepared audience file (``sms prepare`` output) into the ledger.

    Idempotent: loading the same file twice adds nothing.  Returns (added, already there).
    """
    from .audience import iter_prepared
    from .ledger import Recipient

    def recipients() -> Iterable[Recipient]:
        for row in iter_prepared(path):
            fields = {k: v for k, v in row.fields.items() if v}
            yield Recipient(row.msisdn, str(row.carrier_hint), fields or None,
                            f"{row.source_file}:{row.source_line}")

    return ledger.enqueue(campaign, message.key, recipients(), promotional=message.promotional,
                          now=time.time() if now is None else now)
