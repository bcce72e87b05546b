"""Clocks: the optional timestamp() fast path and its fallback."""

from __future__ import annotations

import time

import pendulum

from langson_comms.clock import LOCAL_TZ, FrozenClock, SystemClock, timestamp_of


class NowOnly:
    """A third party's clock with only what the protocol requires."""

    def now(self) -> pendulum.DateTime:
        return pendulum.datetime(2022, 7, 1, 21, 59, 59, tz=LOCAL_TZ)

    async def sleep(self, seconds: float) -> None:
        return None


def test_timestamp_of_uses_the_fast_path_or_falls_back_to_now() -> None:
    frozen = FrozenClock("2022-07-01T10:00:00")
    assert timestamp_of(frozen)() == frozen.now().timestamp()
    frozen.advance(90)
    assert timestamp_of(frozen)() == pendulum.datetime(2022, 7, 1, 10, 1, 30, tz=LOCAL_TZ).timestamp()
    assert timestamp_of(NowOnly())() == NowOnly().now().timestamp()
    before = time.time()
    assert before <= timestamp_of(SystemClock())() <= time.time()
