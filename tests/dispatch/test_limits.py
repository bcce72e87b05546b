"""The rate limiter, circuit breaker and retry backoff with a fake time source."""

from __future__ import annotations

import asyncio
import random

import pytest

from langson_comms.sms.breaker import BreakerEvent, BreakerState, CircuitBreaker
from langson_comms.sms.engine import RetryPolicy, Routing
from langson_comms.sms.ratelimit import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _drive(limiter: RateLimiter, calls: list[tuple[int, int]]) -> None:
    async def main() -> None:
        for msgs, segments in calls:
            await limiter.acquire(msgs, segments)

    asyncio.run(main())


def test_segments_bind_when_messages_are_long() -> None:
    t = FakeTime()
    limiter = RateLimiter(100, 150, burst=0.1, monotonic=t, sleep=t.sleep)
    _drive(limiter, [(1, 3)] * 300)  # 300 messages, 900 segments
    # 900 segments at 150/s after a 15-segment burst: (900 - 15 - 3) / 150 s
    assert t.now == pytest.approx((900 - 15 - 3) / 150, rel=0.01)


def test_messages_bind_when_messages_are_short_and_batches_may_exceed_the_burst() -> None:
    t = FakeTime()
    limiter = RateLimiter(100, 1000, burst=0.1, monotonic=t, sleep=t.sleep)
    _drive(limiter, [(50, 50)] * 20)  # batches of 50 > the 10-message burst
    assert t.now == pytest.approx((1000 - 10 - 50) / 100, rel=0.02)


def test_retry_after_blocks_the_lane() -> None:
    t = FakeTime()
    limiter = RateLimiter(None, None, monotonic=t, sleep=t.sleep)
    _drive(limiter, [(1, 1)])
    assert t.now == 0.0  # unlimited: no waiting
    limiter.block_for(2.5)
    _drive(limiter, [(1, 1)])
    assert t.now == pytest.approx(2.5)


def test_breaker_opens_half_opens_and_closes() -> None:
    t = FakeTime()
    events: list[BreakerEvent] = []
    breaker = CircuitBreaker(threshold=3, reset_after=10, max_reset_after=40, monotonic=t,
                             on_change=events.append)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure("HTTP 503 for +84912345678")
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert events[-1].kind == "open" and "3 of the last 3 requests failed (100%)" in \
        events[-1].reason and "+849" not in events[-1].reason
    t.now = 10.0
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_failure()  # the probe failed: open again, for twice as long
    assert breaker.state is BreakerState.OPEN and breaker.retry_at == 30.0
    assert (events[-1].kind, events[-1].open_seconds, events[-1].next_probe_in) == \
        ("reopen", 10.0, 20.0)
    t.now = 30.0
    assert breaker.allow()
    breaker.cancel_probe()  # the engine did not send it after all (paused, deadline…)
    assert breaker.allow() and not breaker.allow()
    breaker.record_failure()
    assert breaker.retry_at == 30.0 + 40.0  # capped at max_reset_after
    t.now = 70.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert (events[-1].kind, events[-1].open_seconds) == ("close", 70.0)
    assert [e.kind for e in events] == ["open", "reopen", "reopen", "close"]
    assert breaker.delay == 20.0  # a success shrinks the delay…
    for _ in range(3):
        breaker.record_success()
    assert breaker.delay == 10.0  # …down to reset_after


def test_breaker_opens_on_the_error_rate_not_on_a_run_of_errors() -> None:
    """A lossy link (one request in four fails, sometimes several in a row) stays closed;
    one failing most requests opens."""
    breaker = CircuitBreaker(threshold=5, reset_after=1, window=20, monotonic=FakeTime())
    for i in range(400):
        # runs of up to 3 failures in a row, 25 % overall
        breaker.record_failure() if i % 12 in (0, 1, 2) else breaker.record_success()
        assert breaker.state is BreakerState.CLOSED, i
    for i in range(20):
        breaker.record_failure() if i % 4 else breaker.record_success()
        if breaker.state is not BreakerState.CLOSED:
            break
    assert breaker.state is BreakerState.OPEN


def test_backoff_is_exponential_jittered_capped_and_respects_retry_after() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=30.0, jitter=0.5)
    rng = random.Random(1)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (9, 30.0)):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling * 0.3  # really jittered
    assert policy.delay(1, rng, retry_after=7.0) == 7.0


def test_routing_candidates() -> None:
    routing = Routing({"viettel": "v", "mobifone": "m"}, default="agg", fallback=("agg", "b"))
    assert routing.candidates("viettel") == ("v", "agg", "b")
    assert routing.candidates("gmobile") == ("agg", "b")


def test_mask_numbers_hides_phone_numbers_but_not_addresses() -> None:
    """A breaker reason names the host it could not reach: 127.0.0.1 is not a phone number."""
    from langson_comms.sms.breaker import mask_numbers

    assert mask_numbers("Cannot connect to host 127.0.0.1:47009") == \
        "Cannot connect to host 127.0.0.1:47009"
    assert mask_numbers("host 10.20.30.40 refused") == "host 10.20.30.40 refused"
    assert mask_numbers("number 0912 345 678 refused") == "number <number> refused"
    assert mask_numbers("+84912345678 unknown") == "<number> unknown"


def test_a_probe_that_never_answers_does_not_block_the_breaker_forever() -> None:
    """A probe let through whose answer never comes back (its rows were held, a worker
    lost it) must not leave the breaker half-open with 'a probe out' for ever: after the
    probe delay plus reset_after another probe may go (a full-suite run stalled 90 s)."""
    from langson_comms.sms.breaker import BreakerState, CircuitBreaker

    now = [0.0]
    breaker = CircuitBreaker(threshold=1, reset_after=1.0, window=1, monotonic=lambda: now[0])
    breaker.record_failure("HTTP 503")
    now[0] = 1.0
    assert breaker.state is BreakerState.HALF_OPEN and breaker.allow()
    assert not breaker.allow()  # one probe at a time
    now[0] = 2.5
    assert not breaker.allow()  # still within the probe's time
    now[0] = 3.1
    assert breaker.allow()  # the first probe is taken as lost
