"""A lane: one gateway with its rate limiter, circuit breaker and queue of chunks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple

from ...clock import Clock
from ..breaker import BreakerEvent, BreakerState, CircuitBreaker
from ..gateway import OutgoingSms, SmsGateway
from ..ledger import QueuedSms
from ..ratelimit import RateLimiter
from ..shared_ratelimit import RateBucketStore, SharedRateLimiter
from .settings import BreakerSettings


class _Pending(NamedTuple):
    row: QueuedSms
    sms: OutgoingSms
    candidates: tuple[str, ...]



class _Lane:
    def __init__(self, gateway: SmsGateway, clock: Clock, breaker: BreakerSettings,
                 monotonic: Callable[[], float], claim_size: int,
                 on_change: Callable[[BreakerEvent], None],
                 shared: RateBucketStore | None = None) -> None:
        caps = gateway.capabilities
        self.gateway = gateway
        # a store that keeps rate buckets (PostgreSQL) shares the limit with every sender
        self.limiter = (
            RateLimiter(caps.rate_msgs, caps.rate_segments, burst=caps.burst,
                        monotonic=monotonic, sleep=clock.sleep) if shared is None else
            SharedRateLimiter(shared, gateway.gateway_id, caps.rate_msgs, caps.rate_segments,
                              burst=caps.burst, monotonic=monotonic, sleep=clock.sleep))
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
