"""A circuit breaker per gateway: stop sending to a link that keeps failing — briefly.

Closed (normal) → open when, over the last ``window`` requests, at least ``threshold``
failed *and* they are at least ``error_rate`` of them: a lossy link (20 % errors) stays
closed, a dead one opens after ``threshold`` requests.  After a delay it is half-open:
one probe batch may go; its success closes the breaker, its failure opens it again.  The
delay adapts: ``reset_after`` for the first opening, doubled after each failed probe up
to ``max_reset_after``, halved (not below ``reset_after``) by each success — a link that
is down for long is probed rarely, a flapping one soon.

Every change is reported to ``on_change`` as a ``BreakerEvent`` (what, why, how long it
was open, when the next probe goes): the engine logs it, counts it and stores it in the
ledger for ``sms status``.  Reasons never carry phone numbers (``mask_numbers``).

Hand-written (under a hundred lines) because the engine needs it synchronous and driven
by an injected time source; the PyPI breakers (pybreaker, aiobreaker, purgatory) wrap
calls, read the system clock and count consecutive failures only.
"""

from __future__ import annotations

import collections
import enum
import logging
import re
import time
from collections.abc import Callable

import attrs

__all__ = ["BreakerEvent", "BreakerState", "CircuitBreaker", "mask_numbers"]

#: Digit runs that may be phone numbers (8 digits or more, with separators).
log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\+?\d(?:[\d .-]{6,}\d)")


_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _mask(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _IPV4.fullmatch(found) else "<number>"


def mask_numbers(text: str) -> str:
    """``text`` with anything that looks like a phone number replaced by ``<number>``
    (an IPv4 address such as the gateway's host is left as it is)."""
    return _NUMBER.sub(_mask, text)


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@attrs.frozen
class BreakerEvent:
    """A change of a breaker: ``kind`` is ``open`` (from closed), ``reopen`` (a probe
    failed) or ``close`` (a probe succeeded)."""

    kind: str
    reason: str
    #: seconds the breaker has been open so far (``reopen``) or was open (``close``)
    open_seconds: float = 0.0
    #: seconds until the next probe (``open``/``reopen``)
    next_probe_in: float | None = None


class CircuitBreaker:
    def __init__(
        self,
        threshold: int = 5,
        reset_after: float = 1.0,
        *,
        window: int = 40,
        error_rate: float = 0.5,
        max_reset_after: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerEvent], None] | None = None,
    ) -> None:
        if threshold < 1 or reset_after <= 0 or window < threshold:
            raise ValueError("threshold must be >= 1, window >= threshold and reset_after > 0")
        if not 0 < error_rate <= 1 or max_reset_after < reset_after:
            raise ValueError("error_rate must be in (0, 1] and max_reset_after >= reset_after")
        self.threshold = threshold
        self.reset_after = reset_after
        self.max_reset_after = max_reset_after
        self.error_rate = error_rate
        self._now = monotonic
        self._on_change = on_change
        self._outcomes: collections.deque[bool] = collections.deque(maxlen=window)
        self._failures = 0  # failures in ``_outcomes``
        self._delay = reset_after  # the current probe delay
        self._opened_at: float | None = None  # when the breaker left closed
        self._reopened_at: float | None = None  # when the current wait started
        self._probing = False
        self._probe_since = 0.0  # when the probe out was let through

    @property
    def state(self) -> BreakerState:
        if self._reopened_at is None:
            return BreakerState.CLOSED
        if self._now() - self._reopened_at >= self._delay:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def delay(self) -> float:
        """The current probe delay (seconds)."""
        return self._delay

    @property
    def probing(self) -> bool:
        """A probe is out (and not yet taken as lost)."""
        return self._probing and not self._probe_lost()

    @property
    def retry_at(self) -> float:
        """When an open breaker lets a probe through (monotonic seconds)."""
        return 0.0 if self._reopened_at is None else self._reopened_at + self._delay

    def allow(self) -> bool:
        """May a batch go now?  In half-open state only one probe at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and self._probing and self._probe_lost():
            log.warning("circuit breaker: the probe let through %.1f s ago never answered; "
                        "another may go", self._now() - self._probe_since)
            self._probing = False
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            self._probe_since = self._now()
            return True
        return False

    def _probe_lost(self) -> bool:
        """A probe out longer than the probe delay plus ``reset_after`` is taken as lost
        (its rows went back without an answer): liveness over strictness."""
        return self._now() - self._probe_since > self._delay + self.reset_after

    def cancel_probe(self) -> None:
        """The probe ``allow`` let through was not sent after all, or its answer says
        nothing of the link (a 429): another may go."""
        self._probing = False

    def _record(self, failed: bool) -> None:
        if len(self._outcomes) == self._outcomes.maxlen and self._outcomes[0]:
            self._failures -= 1
        self._outcomes.append(failed)
        self._failures += failed

    def record_success(self) -> None:
        probe, self._probing = self._probing, False
        self._record(False)
        self._delay = max(self.reset_after, self._delay / 2)
        if self._opened_at is not None:
            open_for = self._now() - self._opened_at
            self._opened_at = self._reopened_at = None
            self._outcomes.clear()
            self._failures = 0
            what = "probe" if probe else "request sent before it opened"
            self._emit(BreakerEvent("close", f"{what} succeeded after {open_for:.1f} s open",
                                    open_for))

    def record_failure(self, error: str = "") -> None:
        last = f"; last: {mask_numbers(error)}" if error else ""
        now = self._now()
        if self._opened_at is not None:  # a probe (or a request sent before it opened)
            if self._probing:
                self._probing = False
                self._delay = min(self.max_reset_after, self._delay * 2)
                self._reopened_at = now
                self._emit(BreakerEvent("reopen", f"probe failed{last}",
                                        now - self._opened_at, self._delay))
            return
        self._record(True)
        n = len(self._outcomes)
        if self._failures >= self.threshold and self._failures >= self.error_rate * n:
            self._opened_at = self._reopened_at = now
            self._emit(BreakerEvent(
                "open", f"{self._failures} of the last {n} requests failed "
                        f"({self._failures / n:.0%}){last}", 0.0, self._delay))

    def _emit(self, event: BreakerEvent) -> None:
        if self._on_change is not None:
            self._on_change(event)
