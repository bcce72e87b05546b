"""``send_sms`` leaves the host's logging alone: the engine's INFO records do not reach a
host that keeps its logging at WARNING, no logger level is changed, and the circuit
breaker's notices still reach ``on_event``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langson_comms import api

from .test_send_api import _run, _setup


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def host_logging() -> Iterator[Collect]:
    """A host whose logging shows WARNING and above (``basicConfig(level=WARNING)``)."""
    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_the_engine_does_not_log_info_into_a_warning_host(tmp_path: Path, carrier_simulator: Any,
                                                          host_logging: Collect) -> None:
    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 5)
    engine_log = logging.getLogger("langson_comms.sms.engine")
    before = engine_log.level
    summary = _run(lambda: api.send_sms(target, audience=[prepared]))
    assert summary.counts["accepted"] == 5
    assert [r.getMessage() for r in host_logging.records if r.levelno < logging.WARNING] == []
    assert engine_log.level == before


def test_breaker_notices_still_reach_on_event(tmp_path: Path, carrier_simulator: Any,
                                              host_logging: Collect) -> None:
    sim = carrier_simulator(fail_5xx=1.0)
    target, prepared = _setup(tmp_path, sim, 5, timeout=1.0)
    events: list[api.SendEvent] = []

    async def send_then_stop() -> None:
        import asyncio

        task = asyncio.create_task(api.send_sms(target, audience=[prepared],
                                                on_event=events.append))
        for _ in range(600):  # until the breaker opened (bounded: 30 s, for a loaded machine)
            if any(isinstance(e, api.BreakerNotice) for e in events):
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    _run(send_then_stop)
    notices = [e for e in events if isinstance(e, api.BreakerNotice)]
    assert notices and notices[0].opened and "circuit open" in notices[0].text
    assert [r.getMessage() for r in host_logging.records if r.levelno < logging.WARNING] == []
