"""The engine's state and what every part shares: steering, breaker events, results.

``EngineBase`` holds the constructor; ``preparing.py``, ``sending.py`` and ``loop.py``
add to it in that order, and ``DispatchEngine`` (``loop.py``) is the whole.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

import pendulum

from ...clock import Clock, SystemClock, timestamp_of
from ...errors import (
    GatewayError,
    LangsonCommsError,
)
from ...messages import Message
from ..breaker import BreakerEvent, BreakerState
from ..encoding import SmsCost, analyse
from ..gateway import SmsGateway, own_gateway_ids
from ..lease import SenderLease
from ..ledger import LedgerSendHistory, LedgerStore, Result, SmsState
from ..policies import Decision, PolicyContext, PolicySet
from ..policy_selection import PolicySelection
from ..ratelimit import clock_seconds
from ..render import MessageRenderer, RenderedSms
from ..shared_ratelimit import RateBucketStore
from .lanes import _Lane, _Pending
from .settings import BreakerSettings, RetryPolicy, Routing

#: every part of the engine logs as ``langson_comms.sms.engine`` (docs/sms-dispatch.md)
log = logging.getLogger("langson_comms.sms.engine")


class EngineBase:
    """The state of one engine (constructor, steering, results); see ``DispatchEngine``."""

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
        for gid in sorted(routing.gateway_ids()):
            if gid not in gateways:
                raise LangsonCommsError(
                    f"routing names gateway {gid!r}, which is not configured "
                    f"(gateways: {', '.join(sorted(gateways))})"
                )
        self.ledger = ledger
        #: called with (gateway id, the logged text, opened) on every breaker open/close:
        #: how a host hears of them without touching the logging configuration
        self.breaker_listeners: list[Callable[[str, str, bool], object]] = []
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
        # several senders share a PostgreSQL ledger: their rate limits are shared there
        shared = ledger if isinstance(ledger, RateBucketStore) else None
        self._lanes = {
            gid: _Lane(g, self.clock, breaker, self._seconds, claim_size,
                       functools.partial(self._breaker_changed, gid), shared)
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
            text = f"gateway {gid}: circuit closed ({reason})"
            log.info("%s", text, extra={"breaker": gid})
        else:
            text = (f"gateway {gid}: circuit {'open' if event.kind == 'open' else 'still open'} "
                    f"({reason}); next probe in {event.next_probe_in or 0.0:.1f} s")
            log.warning("%s", text, extra={"breaker": gid})
        for listener in self.breaker_listeners:
            listener(gid, text, event.kind != "close")
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
