"""Per-gateway rate limits in messages AND segments per second (carriers count parts).

Written here rather than taken from ``aiolimiter`` because the engine needs two buckets
debited atomically (a 3-part SMS costs 1 message and 3 segments), a ``Retry-After``
block shared by every task of a gateway, and an injected time source so quiet-hour
tests with a ``FrozenClock`` run instantly.  It is a plain token bucket per dimension.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from ..clock import Clock, SystemClock, timestamp_of

__all__ = ["RateLimiter", "clock_seconds"]

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def clock_seconds(clock: Clock) -> Monotonic:
    """A seconds counter for ``clock``: the monotonic clock for the system clock."""
    return time.monotonic if isinstance(clock, SystemClock) else timestamp_of(clock)


class _Bucket:
    __slots__ = ("capacity", "rate", "tokens")

    def __init__(self, rate: float, burst_seconds: float) -> None:
        self.rate = rate
        self.capacity = max(rate * burst_seconds, 1.0)
        self.tokens = self.capacity

    def refill(self, elapsed: float) -> None:
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)

    def wait_for(self, amount: float) -> float:
        """Seconds until ``min(amount, capacity)`` tokens are there (debt is allowed)."""
        need = min(amount, self.capacity) - self.tokens
        return 0.0 if need <= 0 else need / self.rate


class RateLimiter:
    """Waits until ``msgs`` messages and ``segments`` segments may go; ``None`` = unlimited.

    Long batches may drive a bucket into debt, so the long-run rate is exact whatever
    the batch size; ``burst`` is how many seconds of rate may go at once.
    """

    def __init__(
        self,
        msgs_per_s: float | None,
        segments_per_s: float | None,
        *,
        burst: float = 0.1,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._msgs = _Bucket(msgs_per_s, burst) if msgs_per_s else None
        self._segs = _Bucket(segments_per_s, burst) if segments_per_s else None
        self._now = monotonic
        self._sleep = sleep
        self._last = monotonic()
        self._blocked_until = 0.0
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        return self._msgs is None and self._segs is None

    @property
    def blocked(self) -> bool:
        """Was a ``Retry-After`` ever applied (then every acquire checks it)?"""
        return self._blocked_until > 0.0

    def block_for(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a 429 with ``Retry-After``)."""
        self._blocked_until = max(self._blocked_until, self._now() + seconds)

    def _refill(self) -> float:
        now = self._now()
        elapsed = max(0.0, now - self._last)
        self._last = now
        for bucket in (self._msgs, self._segs):
            if bucket is not None:
                bucket.refill(elapsed)
        return now

    def try_acquire(self, msgs: int, segments: int) -> bool:
        """Debit and return True if ``msgs``/``segments`` may go now without waiting (and
        nobody is waiting before us); else change nothing and return False."""
        if self.unlimited and self._blocked_until == 0.0:
            return True
        if self._lock.locked():
            return False
        now = self._refill()
        if self._blocked_until > now or any(
            bucket is not None and bucket.wait_for(amount) > 1e-6
            for bucket, amount in ((self._msgs, msgs), (self._segs, segments))
        ):
            return False
        self._debit(msgs, segments)
        return True

    def _debit(self, msgs: int, segments: int) -> None:
        if self._msgs is not None:
            self._msgs.tokens -= msgs
        if self._segs is not None:
            self._segs.tokens -= segments

    async def acquire(self, msgs: int, segments: int) -> None:
        if self.unlimited and self._blocked_until == 0.0:
            return
        async with self._lock:  # FIFO: waiters go in the order they asked
            while True:
                now = self._refill()
                wait = self._blocked_until - now
                if self._msgs is not None:
                    wait = max(wait, self._msgs.wait_for(msgs))
                if self._segs is not None:
                    wait = max(wait, self._segs.wait_for(segments))
                # A microsecond of tolerance: float rounding can leave a deficit far below
                # any clock's resolution, and sleeping on it would never end.
                if wait <= 1e-6:
                    break
                await self._sleep(wait)
            self._debit(msgs, segments)
