"""``DispatchEngine``: the main loop (claim, prepare, dispatch), control and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from ...errors import (
    LedgerError,
    SenderBusyError,
)
from ..ledger import SmsState
from .sending import Sending
from .settings import DispatchSummary

#: every part of the engine logs as ``langson_comms.sms.engine`` (docs/sms-dispatch.md)
log = logging.getLogger("langson_comms.sms.engine")


class DispatchEngine(Sending):
    """Sends one campaign message to the rows of the ledger (see ``sms.engine``'s docstring).

    Its parts: ``base.py`` (state, steering, results), ``preparing.py`` (render,
    policies, routing), ``sending.py`` (lanes, workers, retries) and the main loop here."""

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
