"""What is true when a row is claimed may no longer be true when it is sent: rows wait for
the rate limit, a Retry-After or a failing gateway.  These tests hold the engine to the
rules at the moment of sending (regressions found in review)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langson_comms.clock import FrozenClock
from langson_comms.config import ConfigContext
from langson_comms.errors import PermanentGatewayError, TransientGatewayError
from langson_comms.messages import Message
from langson_comms.runtime import Runtime
from langson_comms.sms.engine import DispatchEngine, RetryPolicy, Routing
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.sms.ledger import Recipient, SqliteLedger
from langson_comms.sms.policies import PolicySet

from .helpers import CLI, NOTICE, gateway, run_engine
from .test_crash_resume import CAMPAIGN

PROMO = Message("m", "Tai ung dung Cong dan so Xu Lang de nhan qua")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    with SqliteLedger(tmp_path / "ledger.sqlite") as store:
        yield store


def _load(ledger: SqliteLedger, n: int, *, promotional: bool = False,
          carrier: str = "viettel") -> None:
    ledger.enqueue("c", "m", (Recipient(f"+8491{i:07d}", carrier) for i in range(n)),
                   promotional=promotional, now=time.time())


def _record_send_times(gw: GenericHttpGateway, clock: FrozenClock) -> list[str]:
    times: list[str] = []
    send = gw.send

    async def timed(batch: Any) -> Any:
        times.extend(clock.now().to_time_string() for _ in batch)
        return await send(batch)

    gw.send = timed  # type: ignore[method-assign]
    return times


def test_rows_waiting_for_the_rate_limit_are_held_when_quiet_hours_begin(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T21:59:55")
    _load(ledger, 20, promotional=True)
    gw = gateway(carrier_simulator(), rate_msgs=1, connections=1)
    times = _record_send_times(gw, clock)
    registry = Runtime.create(entry_points=False, env={}).registry
    ctx = ConfigContext("campaign.toml", Path("."), "channels.sms.policies")
    window = registry.get("policy", "sending_window").from_config({}, ctx.child("sending_window"))
    summary = asyncio.run(run_engine(ledger, {"sim": gw}, message=PROMO, clock=clock,
                                     idle_poll=3600, policies=PolicySet([window])))
    # claimed at 21:59:55 at one per second: five go before 22:00, the rest at 07:00
    assert [t for t in times if "22:00:00" <= t < "07:00:00" or t >= "22:00:00"] == []
    assert times[:5] == [f"21:59:5{s}" for s in range(5, 10)]
    assert times[5] == "07:00:00" and len(times) == 20
    assert summary.counts["accepted"] == 20 and summary.stats["held"] >= 15


def test_nothing_is_sent_after_the_send_by_deadline(ledger: SqliteLedger,
                                                    carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T10:00:00")
    send_by = clock.now().add(seconds=5)
    _load(ledger, 20)
    gw = gateway(carrier_simulator(), rate_msgs=1, connections=1)
    times = _record_send_times(gw, clock)
    summary = asyncio.run(run_engine(ledger, {"sim": gw}, clock=clock, send_by=send_by))
    assert times == [f"10:00:0{s}" for s in range(5)]
    assert summary.outcome == "deadline"
    assert summary.counts["accepted"] == 5 and summary.counts["expired"] == 15


def test_a_half_open_breaker_gets_one_probe_and_rows_use_the_fallback(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    _load(ledger, 1500, carrier="mobifone")
    broken, backup = carrier_simulator(fail_5xx=1.0), carrier_simulator()
    gateways = {"primary": gateway(broken, "primary", connections=4),
                "backup": gateway(backup, "backup", rate_msgs=1000, connections=4)}
    summary = asyncio.run(run_engine(
        ledger, gateways, Routing({"mobifone": "primary"}, fallback=("backup",)),
        breaker_threshold=3, breaker_reset=0.1,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)))
    # One probe per 0.1 s half-open window, plus the 3 requests that opened the breaker
    # (before the fix: 991 requests hit the broken gateway in about 1.5 s).
    refused = broken.stats()["http_5xx"]
    assert refused <= 3 + summary.elapsed / 0.1 + 2
    # A row fails only after the primary refused it twice (max_attempts = 2): only rows
    # that went out as probes can (before the fix: 62 failed).
    assert summary.counts["failed"] * 2 <= refused
    assert summary.counts["accepted"] + summary.counts["failed"] == 1500
    assert len(backup.accepted_snapshot()) == summary.counts["accepted"]


def test_stop_does_not_wait_out_a_retry_after(ledger: SqliteLedger,
                                              carrier_simulator: Any) -> None:
    _load(ledger, 50)
    gw = gateway(carrier_simulator(), connections=2)
    send, calls = gw.send, []

    async def throttled(batch: Any) -> Any:
        calls.append(len(batch))
        if len(calls) == 1:
            raise TransientGatewayError("429", gateway="sim", status=429, retry_after=60.0)
        return await send(batch)

    gw.send = throttled  # type: ignore[method-assign]

    async def main() -> tuple[Any, float]:
        client = gw.make_client()
        gw.bind_client(client)
        engine = DispatchEngine(ledger, {"sim": gw}, Routing(default="sim"), campaign="c",
                                message=NOTICE)
        task = asyncio.create_task(engine.run())
        deadline = time.monotonic() + 30  # until the 429 blocked the lane (not a fixed 0.5 s:
        while not calls:                  # a loaded machine may not have sent by then)
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the engine goes on to wait out the Retry-After
        started = time.monotonic()
        engine.stop()  # what SIGINT/SIGTERM do
        summary = await task
        await client.aclose()
        return summary, time.monotonic() - started

    summary, took = asyncio.run(main())
    assert summary.outcome == "stopped"
    assert took < 30  # not the rest of the 60 s block
    assert summary.counts["submitted"] == 0
    assert sum(summary.counts.values()) == 50


def test_cancel_with_no_sender_closes_rows_a_killed_sender_left_in_flight(
        tmp_path: Path) -> None:
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(
        url="http://127.0.0.1:9/sms/send", batch_url="http://127.0.0.1:9/sms/batch",
        rate=10, max_batch=1), encoding="utf-8")
    (tmp_path / "work").mkdir()
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as store:
        store.enqueue("crash", "invite", (Recipient(f"+8491{i:07d}", "viettel")
                                          for i in range(10)), promotional=False, now=1.0)
        store.claim("crash", "invite", 2.0, 4)  # claimed, then the sender was killed
    done = subprocess.run([CLI, "sms", "cancel", "campaign.toml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "cancelled 10 queued rows (4 of them left in flight by a stopped sender)" in done.stdout
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as store:
        counts = store.counts("crash", "invite")
    assert counts["cancelled"] == 10 and counts["submitted"] == 0


def test_probe_refused_permanently_does_not_kill_the_lane(tmp_path: Path,
                                                          carrier_simulator: Any) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite")
    ledger.enqueue("c", "m", (Recipient(f"+8491{i:07d}", "viettel") for i in range(5)),
                   promotional=False, now=time.time())
    gw = gateway(carrier_simulator(), connections=1)
    send, calls = gw.send, []

    async def flaky(batch: Any) -> Any:
        calls.append(len(batch))
        if len(calls) == 1:
            raise TransientGatewayError("503", gateway="sim", status=503)
        if len(calls) == 2:  # the half-open probe: the vendor refuses this one number
            raise PermanentGatewayError("400 bad number", gateway="sim", status=400)
        return await send(batch)

    gw.send = flaky  # type: ignore[method-assign]

    async def main() -> Any:
        return await asyncio.wait_for(run_engine(
            ledger, {"sim": gw}, breaker_threshold=1, breaker_reset=0.1,
            retry=RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.02)), 8)

    try:
        summary = asyncio.run(main())
    except TimeoutError:
        raise AssertionError(f"run hung; gateway calls={calls}, counts={ledger.counts('c')}") from None
    assert summary.counts["failed"] == 1 and summary.counts["accepted"] == 4
