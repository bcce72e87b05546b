"""The carrier simulator keeps delivery reports -- early ones too -- when the receiver is
briefly down, and posts them again once it is up."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpx
import pytest

from langson_comms.sms.ledger import SqliteLedger
from langson_comms.sms.reports import ReportReceiver


@pytest.mark.parametrize("early", [0.0, 1.0])
def test_reports_survive_a_receiver_that_is_briefly_down(ledger: SqliteLedger,
                                                         carrier_simulator: Any,
                                                         early: float) -> None:
    # the receiver's port refuses until the receiver starts on it (held, not listening: a
    # free port could be taken by another test meanwhile)
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    sim = carrier_simulator(dlr_url=f"http://127.0.0.1:{port}/dlr", early_dlr=early,
                            dlr_delay=0.0)
    r = httpx.post(sim.url, json={"to": "+84912345678", "text": "x", "ref": "1"}, timeout=5)
    assert r.json()["status"] == "accepted"
    deadline = time.monotonic() + 10
    while not sim.counters["dlr_post_failures"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.counters["dlr_post_failures"] >= 1  # the receiver was not up
    assert sim.counters["dlr_early"] == (1 if early else 0)

    async def main() -> int:
        held.close()
        async with ReportReceiver(ledger, port=port, insecure=True) as rx:
            end = time.monotonic() + 10
            while rx.counters["received"] == 0 and time.monotonic() < end:
                await asyncio.sleep(0.05)
            return rx.counters["received"]

    assert asyncio.run(main()) == 1, sim.stats()
    # The receiver counts a report before the simulator has read its answer: wait for it.
    deadline = time.monotonic() + 10
    while sim.counters["dlr_posted"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sim.counters["dlr_posted"] == 1
