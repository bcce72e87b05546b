"""A gateway's rate limit shared by every sender of a store (several hosts, one total).

``SharedRateLimiter`` has the local ``RateLimiter``'s interface (the engine's lanes do
not know which one they have) and takes its tokens from a ``RateBucketStore`` -- the
PostgreSQL ledger keeps one bucket row per gateway -- in batches: one store call buys
at least ``batch_seconds`` of the rate (or what a request needs), the answer says when
they may go, and requests spend that credit locally until it runs out.  The total of all
senders is the configured rate (the store's bucket is exact over time; a sender that
stops leaves at most one batch unspent).  A ``Retry-After`` stays local to the sender
that received it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

from .ratelimit import Monotonic, RateLimiter, Sleep

__all__ = ["RateBucketStore", "SharedRateLimiter"]


@runtime_checkable
class RateBucketStore(Protocol):
    """A store holding shared rate buckets (``PostgresLedger`` is one)."""

    def take_rate_tokens(self, gateway: str, msgs: int, segments: int,
                         msgs_per_s: float | None, segments_per_s: float | None,
                         burst: float) -> float:
        """Take tokens from ``gateway``'s bucket; the seconds to wait before using them."""
        ...


class SharedRateLimiter(RateLimiter):
    """``RateLimiter`` whose tokens come from a ``RateBucketStore`` shared by senders."""

    def __init__(
        self,
        store: RateBucketStore,
        gateway: str,
        msgs_per_s: float | None,
        segments_per_s: float | None,
        *,
        burst: float = 0.1,
        batch_seconds: float = 0.05,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(msgs_per_s, segments_per_s, burst=burst, monotonic=monotonic,
                         sleep=sleep)
        self._store = store
        self._gateway = gateway
        self._rates = (msgs_per_s or None, segments_per_s or None)
        self._burst = burst
        self._batch = batch_seconds
        self._credit = [0.0, 0.0]  # messages, segments bought and not yet spent
        self._ready_at = 0.0  # when the last batch bought may be spent (monotonic)

    def _covers(self, msgs: int, segments: int) -> bool:
        return all(rate is None or credit >= need - 1e-9 for rate, credit, need
                   in zip(self._rates, self._credit, (msgs, segments), strict=True))

    def _spend(self, msgs: int, segments: int) -> None:
        self._credit[0] -= msgs
        self._credit[1] -= segments

    def try_acquire(self, msgs: int, segments: int) -> bool:
        """True (and spent) when bought credit covers the request now; never calls the
        store (the event loop does not wait on the database here)."""
        if self.unlimited and self._blocked_until == 0.0:
            return True
        if self._lock.locked():
            return False
        now = self._now()
        if self._blocked_until > now or now < self._ready_at or not self._covers(msgs, segments):
            return False
        self._spend(msgs, segments)
        return True

    def _wanted(self, msgs: int, segments: int) -> tuple[int, int]:
        """What to buy: the missing part of the request, at least ``batch_seconds``."""
        out = []
        for rate, credit, need in zip(self._rates, self._credit, (msgs, segments), strict=True):
            if rate is None:
                out.append(0)
            else:
                out.append(max(0, int(-(-max(need - credit, rate * self._batch) // 1))))
        return out[0], out[1]

    async def acquire(self, msgs: int, segments: int) -> None:
        if self.unlimited and self._blocked_until == 0.0:
            return
        async with self._lock:  # FIFO, as the local limiter
            while True:
                now = self._now()
                wait = self._blocked_until - now
                if wait <= 1e-6 and self._covers(msgs, segments):
                    wait = self._ready_at - now
                    if wait <= 1e-6:
                        break
                if wait > 1e-6:
                    await self._sleep(wait)
                    continue
                take_m, take_s = self._wanted(msgs, segments)
                delay = await asyncio.to_thread(
                    self._store.take_rate_tokens, self._gateway, take_m, take_s,
                    self._rates[0], self._rates[1], self._burst)
                self._credit[0] += take_m
                self._credit[1] += take_s
                self._ready_at = self._now() + max(0.0, delay)
            self._spend(msgs, segments)
