"""End to end: the project's DispatchEngine and SqliteLedger sending through the MobiFone
gateway to its simulator, with faults; the password and session ids are nowhere in the
DEBUG logs nor in the ledger file."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langson_comms_mobifone import MobifoneGateway
from langson_comms_mobifone.testing import MobifoneSimulator
from mobifone_helpers import PASSWORD, close, make_gateway

from langson_comms.messages import Message
from langson_comms.sms.engine import DispatchEngine, RetryPolicy, Routing
from langson_comms.sms.http_gateway import GenericHttpConfig, GenericHttpGateway
from langson_comms.sms.ledger import Recipient, SmsState, SqliteLedger

NOTICE = Message("m", "Thông báo: tải ứng dụng Công dân số Xứ Lạng",
                 classification="public_notice", classified_by="Sở TT&TT")


def _engine(ledger: SqliteLedger, gateway: MobifoneGateway) -> DispatchEngine:
    return DispatchEngine(ledger, {"mobifone": gateway}, Routing(default="mobifone"),
                          campaign="c", message=NOTICE, breaker_reset=0.2,
                          retry=RetryPolicy(max_attempts=12, base_delay=0.02, max_delay=0.3))


def test_every_row_accepted_once_through_expiry_throttling_and_5xx_and_no_secret_leaks(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    numbers = [f"+849010{i:05d}" for i in range(300)]
    caplog.set_level(logging.DEBUG)

    async def main() -> MobifoneSimulator:
        async with MobifoneSimulator(password=PASSWORD, session_sends=40, throttle_every=13,
                                     fail_every=29) as sim:
            with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
                ledger.enqueue("c", "m", [Recipient(n, "mobifone") for n in numbers],
                               promotional=False)
                gateway = make_gateway(sim, max_batch=5, concurrency=4)
                try:
                    summary = await _engine(ledger, gateway).run()
                finally:
                    await close(gateway)
                counts = ledger.counts("c")
            assert counts[SmsState.ACCEPTED] == len(numbers), (counts, summary)
            return sim

    sim = asyncio.run(asyncio.wait_for(main(), 60))
    seen = Counter(a.recipient for a in sim.accepted)
    assert sorted(seen) == sorted(n.removeprefix("+") for n in numbers)
    assert max(seen.values()) == 1, "the simulator accepted a message twice"
    assert {a.unicode for a in sim.accepted} == {True}
    assert sim.logins > 2 and sim.expired_answers > 0  # sessions expired and were replaced
    secrets = [PASSWORD, *{a.sid for a in sim.accepted}]
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    stored = (tmp_path / "ledger.sqlite").read_bytes()
    for wal in tmp_path.glob("ledger.sqlite-*"):
        stored += wal.read_bytes()
    for secret in secrets:
        assert secret not in logged, "a credential in the logs"
        assert secret.encode() not in stored, "a credential in the ledger"
    assert "HTTP Request: POST" in caplog.text, "the HTTP client logged nothing"


def test_ported_numbers_go_on_to_the_next_route_and_the_ledger_says_why(
        tmp_path: Path, carrier_simulator: Any) -> None:
    numbers = [f"+849010{i:05d}" for i in range(60)]
    ported = {n.removeprefix("+") for n in numbers[::6]}
    aggregator = carrier_simulator(honour_idempotency=True)

    async def main() -> MobifoneSimulator:
        async with MobifoneSimulator(password=PASSWORD, not_subscribers=set(ported)) as sim:
            with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
                ledger.enqueue("c", "m", [Recipient(n, "mobifone") for n in numbers],
                               promotional=False)
                mobifone = make_gateway(sim, max_batch=5)
                other = GenericHttpGateway("aggregator", GenericHttpConfig(
                    url=aggregator.url, supports_idempotency=True, timeout=2.0))
                other.bind_client(other.make_client())
                try:
                    await DispatchEngine(
                        ledger, {"mobifone": mobifone, "aggregator": other},
                        Routing(routes={"mobifone": ("mobifone", "aggregator")}),
                        campaign="c", message=NOTICE,
                        retry=RetryPolicy(max_attempts=5, base_delay=0.02)).run()
                finally:
                    await close(mobifone)
                    await other.client.aclose()
                assert ledger.counts("c")[SmsState.ACCEPTED] == len(numbers)
                routes = ledger.routes_summary("c", "m")
            assert routes["fallbacks"] == {"mobifone:not_subscriber": len(ported)}, routes
            assert routes["by_gateway"]["aggregator"] == {"accepted": len(ported)}
            return sim

    sim = asyncio.run(asyncio.wait_for(main(), 60))
    assert {a.recipient for a in sim.accepted} == {n.removeprefix("+") for n in numbers} - ported
    assert {a.to.removeprefix("+") for a in aggregator.accepted_snapshot()} == ported
