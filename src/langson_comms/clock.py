"""Clocks: the engine asks an injected clock for the time, never the system directly.

``SystemClock`` is the real one; ``FrozenClock`` (also in the test kit) stands still
until moved, so quiet hours and deadlines can be tested without patching.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import pendulum

__all__ = ["LOCAL_TZ", "Clock", "FrozenClock", "SystemClock", "local_tz", "timestamp_of"]

LOCAL_TZ = "Asia/Ho_Chi_Minh"


def local_tz() -> pendulum.Timezone:
    """The timezone of Vietnamese local rules (UTC+7, no daylight saving)."""
    return pendulum.timezone(LOCAL_TZ)


@runtime_checkable
class Clock(Protocol):
    """Tells the time (always timezone-aware) and sleeps."""

    def now(self) -> pendulum.DateTime:
        """The current instant, aware."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


def timestamp_of(clock: Clock) -> Callable[[], float]:
    """Epoch seconds from ``clock``: its ``timestamp()`` when it has one (an optional,
    cheaper ``now().timestamp()``: the engine asks per request), else ``now()``'s."""
    fast: Callable[[], float] | None = getattr(clock, "timestamp", None)
    return fast if fast is not None else lambda: clock.now().timestamp()


class SystemClock:
    """The real clock, in Asia/Ho_Chi_Minh."""

    def now(self) -> pendulum.DateTime:
        return pendulum.now(LOCAL_TZ)

    def timestamp(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FrozenClock:
    """A clock that only moves when told to (``advance``/``set``) or when slept on.

    ``sleep`` advances the clock by the requested time and yields to the event loop
    once, so code that waits for a window to open runs instantly in tests.
    """

    def __init__(self, start: pendulum.DateTime | str) -> None:
        self._now = self._aware(start)

    @staticmethod
    def _aware(value: pendulum.DateTime | str) -> pendulum.DateTime:
        if isinstance(value, str):
            parsed = pendulum.parse(value, tz=LOCAL_TZ)
            if not isinstance(parsed, pendulum.DateTime):
                raise ValueError(f"not a date-time: {value!r}")
            return parsed
        if value.tzinfo is None:
            raise ValueError("FrozenClock needs an aware date-time")
        return value

    def now(self) -> pendulum.DateTime:
        return self._now

    def timestamp(self) -> float:
        return self._now.timestamp()

    def set(self, value: pendulum.DateTime | str) -> None:
        self._now = self._aware(value)

    def advance(self, seconds: float = 0.0, **kwargs: float) -> pendulum.DateTime:
        """Move forward by ``seconds`` plus any pendulum duration keywords (minutes=…)."""
        self._now = self._now.add(seconds=seconds, **kwargs)  # type: ignore[arg-type]
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)
