"""A circuit breaker per gateway: stop sending to a link that keeps failing.

Closed (normal) → open after ``threshold`` consecutive transient failures → after
``reset_after`` seconds half-open: one probe batch may go; its success closes the
breaker, its failure opens it again.  Hand-written (about forty lines) because the
engine needs it synchronous and driven by an injected time source; the PyPI breakers
(pybreaker, aiobreaker, purgatory) wrap calls and read the system clock.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        reset_after: float = 30.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or reset_after <= 0:
            raise ValueError("threshold must be >= 1 and reset_after > 0")
        self.threshold = threshold
        self.reset_after = reset_after
        self._now = monotonic
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._now() - self._opened_at >= self.reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def retry_at(self) -> float:
        """When an open breaker lets a probe through (monotonic seconds)."""
        return 0.0 if self._opened_at is None else self._opened_at + self.reset_after

    def allow(self) -> bool:
        """May a batch go now?  In half-open state only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def cancel_probe(self) -> None:
        """The probe ``allow`` let through was not sent after all: another may go."""
        self._probing = False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            self._opened_at = self._now()
        self._probing = False
