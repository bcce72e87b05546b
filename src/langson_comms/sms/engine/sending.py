"""Routing prepared rows to lanes and sending them: rate limits, breakers, retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ...errors import (
    GatewayError,
    PermanentGatewayError,
    TransientGatewayError,
    WrongRouteError,
)
from ..breaker import BreakerState
from ..gateway import FATAL_STATUSES, SubmitResult
from ..ledger import Result, SmsState, in_doubt_gateways, tried_entry
from ..ledger.records import IN_DOUBT
from ..policies import Action, PolicyContext, SmsItem
from .lanes import _Lane, _Pending
from .preparing import Preparing
from .settings import ALREADY_ACCEPTED, DEFER_SECONDS

#: every part of the engine logs as ``langson_comms.sms.engine`` (docs/sms-dispatch.md)
log = logging.getLogger("langson_comms.sms.engine")

_ACCEPTED = SmsState.ACCEPTED


class Sending(Preparing):
    """Lanes and their workers: from prepared rows to carrier ids."""

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
        except WrongRouteError as exc:  # not this gateway's numbers: their next route
            lane.breaker.record_success()  # the link answered (and a probe is over)
            self._add(self._wrong_route(p, exc, gid) for p in chunk)
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
            elif isinstance(r.error, WrongRouteError):
                out.append(self._wrong_route(p, r.error, gid))
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

    def _wrong_route(self, item: _Pending, exc: WrongRouteError, gid: str) -> Result:
        """``gid`` says the row's number is not its own: the row goes back to the ledger,
        due now, with ``gid`` added to its ``routes_tried`` (durable: a resumed run does
        not ask ``gid`` again), without using an attempt; the next claim sends it to its
        next candidate, or fails it ``no_route`` when none is left (``_prepare``)."""
        self.stats["wrong_route"] += 1
        return Result(item.row.id, SmsState.QUEUED, attempted=False,
                      reason=f"{gid} refused it ({exc.reason}): {exc}",
                      next_at=self._now(), tried=tried_entry(gid, exc.reason))

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
        tried = None
        if (isinstance(exc, TransientGatewayError) and exc.in_doubt
                and gid not in in_doubt_gateways(item.row.routes_tried)):
            # it may be there already: only this gateway gets it again (durably)
            tried = tried_entry(gid, IN_DOUBT)
        return Result(item.row.id, SmsState.QUEUED, gateway=gid, reason=reason, next_at=next_at,
                      tried=tried)
