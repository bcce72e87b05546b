"""``send_sms`` keeps the host's event loop running: building the runtime (plugins) and
the gateways' HTTP clients (TLS contexts) at start, and counting the ledger for progress,
happen in worker threads.

The start steps are made deliberately slow here (1.5 s each, standing for a loaded host
with many plugins) and must run off the loop's thread (checked exactly), and a ticker
task on the loop must see no gap over 0.75 s while 20,000 rows are loaded and sent: a
step left on the loop is a stall of 1.5 s or more, while the noise of a busy machine
(0.2–0.3 s seen under a load average of 15 on 2 cores) stays under the threshold.  The
garbage collector's own pauses are taken out of each gap.  The real stalls without
the slowing are measured by ``benchmarks/bench_send_loop.py`` (docs/performance.md)."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from langson_comms import Runtime, api
from langson_comms.sms import http_gateway

from .test_send_api import _setup

SLOW = 1.5  # seconds each start step takes here
THRESHOLD = 0.75  # the longest gap tolerated between two ticks of 5 ms


def test_no_stall_of_the_hosts_loop_while_sending_20k_rows(
        tmp_path: Path, carrier_simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = carrier_simulator(timeout=1.0)  # answers held back: the test stops the send itself
    target, prepared = _setup(tmp_path, sim, 20_000, timeout=30.0)
    create, make_client = Runtime.create, http_gateway.make_http_client

    on_loop_thread: list[bool] = []

    def slow_create(*args: Any, **kwargs: Any) -> Runtime:
        on_loop_thread.append(threading.current_thread() is threading.main_thread())
        time.sleep(SLOW)
        return create(*args, **kwargs)

    def slow_client(*args: Any, **kwargs: Any) -> Any:
        on_loop_thread.append(threading.current_thread() is threading.main_thread())
        time.sleep(SLOW)
        return make_client(*args, **kwargs)

    monkeypatch.setattr(Runtime, "create", staticmethod(slow_create))
    monkeypatch.setattr(http_gateway, "make_http_client", slow_client)

    async def send_while_ticking() -> tuple[float, int]:
        gaps: list[float] = []
        progress = asyncio.Event()
        seen = 0

        def on_event(event: api.SendEvent) -> None:
            nonlocal seen
            if isinstance(event, api.SendProgress):
                seen += 1
                if seen >= 3:
                    progress.set()

        async def tick() -> None:
            last, collected = time.perf_counter(), pauses.total
            while True:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                gaps.append(now - last - (pauses.total - collected))
                last, collected = now, pauses.total

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.02)  # the ticker is running before the send starts
        send = asyncio.create_task(api.send_sms(target, audience=prepared, on_event=on_event,
                                                progress_every=0.2))
        await progress.wait()  # loaded, started, counted three times
        send.cancel()
        with pytest.raises(asyncio.CancelledError):
            await send
        ticker.cancel()
        return max(gaps), seen

    pauses = GcPauses()
    gc.callbacks.append(pauses)
    try:
        worst, seen = asyncio.run(asyncio.wait_for(send_while_ticking(), timeout=120))
    finally:
        gc.callbacks.remove(pauses)
    assert seen >= 3
    assert on_loop_thread == [False, False]  # the runtime, the gateway's client
    assert worst < THRESHOLD, f"the event loop stalled {worst:.3f} s"
    with target.open_ledger() as ledger:  # loaded whole while the loop ran
        assert sum(ledger.counts("apitest", "invite").values()) == 20_000


class GcPauses:
    """A ``gc.callbacks`` entry adding up the seconds the collector has run."""

    def __init__(self) -> None:
        self.total = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._began
