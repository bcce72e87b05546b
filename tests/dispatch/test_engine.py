"""The engine against the carrier simulator: faults, rate limits, routing, steering."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from langson_comms.errors import LedgerError
from langson_comms.messages import Message
from langson_comms.sms.encoding import analyse
from langson_comms.sms.engine import Routing
from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger
from langson_comms.sms.ratelimit import RateLimiter
from langson_comms.sms.reports import ReportReceiver

from .conftest import load, numbers
from .helpers import gateway, run_engine, wait_for_reports


def test_faults_end_in_a_final_state_without_duplicates(ledger: SqliteLedger,
                                                         carrier_simulator: Any) -> None:
    """20 % 5xx, 5 % lost answers (timeouts), 429 bursts, duplicate and early reports."""
    n = 600
    load(ledger, n)
    ledger.enqueue("c", "m", [Recipient(f"+8400012345{i}", "viettel") for i in range(5)],
                   promotional=False, now=time.time())

    async def main() -> tuple[dict[str, int], Any]:
        async with ReportReceiver(ledger, insecure=True) as receiver:
            sim = carrier_simulator(fail_5xx=0.2, timeout=0.05, hang_seconds=0.6,
                                    burst_429_every=0.4, burst_429_length=0.05, retry_after=0.05,
                                    honour_idempotency=True, dlr_url=receiver.url,
                                    duplicate_dlr=0.1, early_dlr=0.1, dlr_failed=0.02, seed=7)
            summary = await run_engine(ledger, {"sim": gateway(sim, timeout=0.2)},
                                       breaker_threshold=50)
            assert summary.outcome == "completed"
            counts = await wait_for_reports(ledger)
            return counts, sim

    counts, sim = asyncio.run(main())
    stats = sim.stats()
    assert stats["http_5xx"] > 50 and stats["timeouts"] > 10 and stats["http_429"] > 0
    assert stats["replays"] > 0 and stats["dlr_duplicated"] > 0 and stats["dlr_early"] > 0
    assert sim.duplicates() == {}
    assert counts["queued"] == counts["submitted"] == counts["accepted"] == 0
    assert counts["delivered"] + counts["failed"] + counts["expired"] == n + 5
    rows = list(ledger.rows("c"))
    assert all(r.reason for r in rows if r.state is not SmsState.DELIVERED)
    invalid = [r for r in rows if r.msisdn.startswith("+84000")]
    assert {r.state for r in invalid} == {SmsState.FAILED}
    assert all("invalid_number" in (r.reason or "") for r in invalid)
    assert stats["rejected"] >= 5
    # every accepted message is one carrier message
    delivered_ids = [r.carrier_id for r in rows if r.state is SmsState.DELIVERED]
    assert len(set(delivered_ids)) == len(delivered_ids)


def test_rate_limit_holds_counting_segments(ledger: SqliteLedger, carrier_simulator: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Lang Son " * 20  # 180 GSM-7 characters: 2 segments
    assert analyse(text).segments == 2
    message = Message("m", text, classification="public_notice", classified_by="test")
    load(ledger, 300)
    # When the limiter lets each request go, and what it debited: the wall-clock rate is
    # measured there, where a loaded machine can only make it later (slower), never
    # sooner; the carrier's arrival times also carry each request's trip (the first ones
    # open connections), which shortened the measured span under load.
    debits: list[tuple[float, int, int]] = []
    real_debit = RateLimiter._debit

    def debit(limiter: RateLimiter, msgs: int, segments: int) -> None:
        debits.append((time.monotonic(), msgs, segments))
        real_debit(limiter, msgs, segments)

    monkeypatch.setattr(RateLimiter, "_debit", debit)
    sim = carrier_simulator()
    gw = gateway(sim, rate_msgs=1000, rate_segments=300, connections=4)
    summary = asyncio.run(run_engine(ledger, {"sim": gw}, message=message))
    assert summary.counts["accepted"] == 300
    accepted = sim.accepted_snapshot()
    segments = sum(a.parts for a in accepted)
    assert segments == 600
    # segments counted once (the old floor of 180/s told once, 300/s, from twice, 150/s,
    # by the clock, and failed on a machine too loaded to reach it)
    assert sum(d[2] for d in debits) == segments and sum(d[1] for d in debits) == 300
    span = debits[-1][0] - debits[0][0]
    burst = 300 * 0.1  # the limiter's burst allowance
    rate = (segments - burst - debits[0][2]) / span
    assert rate <= 300 * 1.03, rate  # the limit is the guarantee


def test_batches_and_routing_by_carrier_with_fallback(ledger: SqliteLedger,
                                                      carrier_simulator: Any) -> None:
    ledger.enqueue("c", "m", [Recipient(m, "viettel") for m in numbers(40)],
                   promotional=False, now=1.0)
    ledger.enqueue("c", "m", [Recipient(m, "mobifone") for m in numbers(40, start=100)],
                   promotional=False, now=1.0)
    viettel = carrier_simulator()
    broken = carrier_simulator(fail_5xx=1.0)
    backup = carrier_simulator()
    gateways = {"viettel": gateway(viettel, "viettel", max_batch=10),
                "mobifone": gateway(broken, "mobifone"),
                "backup": gateway(backup, "backup", max_batch=10)}
    routing = Routing({"viettel": "viettel", "mobifone": "mobifone"}, fallback=("backup",))
    summary = asyncio.run(run_engine(ledger, gateways, routing, breaker_threshold=3,
                                     breaker_reset=60))
    assert summary.counts["accepted"] == 80
    assert {a.to for a in viettel.accepted_snapshot()} == set(numbers(40))
    assert {a.to for a in backup.accepted_snapshot()} == set(numbers(40, start=100))
    assert broken.stats()["http_5xx"] >= 3
    rows = {r.msisdn: r for r in ledger.rows("c")}
    assert rows[numbers(1, start=100)[0]].gateway == "backup"
    # batches: 40 viettel rows in requests of at most 10
    assert viettel.stats()["requests"] <= 8


def test_pause_then_resume_and_cancel(ledger: SqliteLedger, carrier_simulator: Any) -> None:
    load(ledger, 400)
    sim = carrier_simulator(rate_msgs=400)

    def sent() -> int:
        return len(sim.accepted_snapshot())

    async def wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
        # Polls instead of fixed sleeps, so a loaded machine slows the test, not fails it.
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting: {what}"
            await asyncio.sleep(0.02)

    async def main() -> Any:
        task = asyncio.create_task(run_engine(ledger, {"sim": gateway(sim, rate_msgs=400)}))
        await wait_for(lambda: sent() >= 40, "first messages")
        ledger.set_control("c", "m", "paused")
        # in-flight requests may still land: wait until none is in flight (every claimed
        # row recorded: a slow answer on a loaded machine can outlast 0.5 s of stillness)
        # and the count holds still
        last, deadline = -1, time.monotonic() + 30
        while sent() != last or ledger.counts("c")["submitted"]:
            assert time.monotonic() < deadline, "timed out waiting: in-flight requests"
            last = sent()
            await asyncio.sleep(0.5)
        paused_at = sent()
        await asyncio.sleep(0.5)
        assert sent() == paused_at, "sent while paused"
        assert paused_at < 400 and not task.done()
        ledger.set_control("c", "m", "running")
        await wait_for(lambda: sent() > paused_at, "resume")
        ledger.set_control("c", "m", "cancelled")
        return await task

    summary = asyncio.run(main())
    assert summary.outcome == "cancelled"
    counts = summary.counts
    assert 0 < counts["cancelled"] < 400
    assert counts["accepted"] + counts["cancelled"] == 400
    assert counts["accepted"] == len(sim.accepted_snapshot())
    assert ledger.failure_reasons("c") == {"cancelled by operator": counts["cancelled"]}


def test_unicode_goes_only_to_gateways_that_take_it(ledger: SqliteLedger,
                                                    carrier_simulator: Any) -> None:
    message = Message("m", "Thông báo: tải ứng dụng Công dân số Xứ Lạng",
                      classification="public_notice", classified_by="test")
    load(ledger, 5)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim, supports_unicode=False)},
                                     message=message))
    assert summary.counts["failed"] == 5
    assert sim.accepted_snapshot() == []
    reason = next(ledger.rows("c")).reason or ""
    assert "no gateway takes this message (UCS-2" in reason


def test_permanent_rejections_are_never_retried(ledger: SqliteLedger,
                                                carrier_simulator: Any) -> None:
    ledger.enqueue("c", "m", [Recipient(f"+8400012345{i}") for i in range(5)],
                   promotional=False, now=1.0)
    load(ledger, 5)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}))
    assert summary.counts["failed"] == 5 and summary.counts["accepted"] == 5
    assert sim.stats()["rejected"] == 5
    failed = [r for r in ledger.rows("c") if r.state is SmsState.FAILED]
    assert all(r.attempts == 1 for r in failed)
    assert failed[0].reason == "sim: rejected: invalid_number"


def test_a_slow_gateway_does_not_hold_back_a_fast_one(ledger: SqliteLedger,
                                                      carrier_simulator: Any) -> None:
    # 300 rows for a gateway limited to 100 msg/s come first in the ledger, then 300 rows
    # for an unlimited one: the fast gateway must not wait ~3 s behind the slow one.
    ledger.enqueue("c", "m", [Recipient(m, "viettel") for m in numbers(300)],
                   promotional=False, now=1.0)
    ledger.enqueue("c", "m", [Recipient(m, "mobifone") for m in numbers(300, start=1000)],
                   promotional=False, now=1.0)
    slow_sim, fast_sim = carrier_simulator(), carrier_simulator()
    gateways = {"slow": gateway(slow_sim, "slow", rate_msgs=100, connections=2),
                "fast": gateway(fast_sim, "fast", connections=4)}
    routing = Routing({"viettel": "slow", "mobifone": "fast"})
    summary = asyncio.run(run_engine(ledger, gateways, routing, claim_size=100))
    assert summary.counts["accepted"] == 600
    # Judged by order, not by wall time (this machine is shared and noisy): the fast
    # gateway starts while the slow one is still near its beginning and finishes first.
    fast = [a.at for a in fast_sim.accepted_snapshot()]
    slow = [a.at for a in slow_sim.accepted_snapshot()]
    assert fast[0] < slow[100], "the fast gateway waited behind the slow one"
    assert fast[-1] < slow[-1]


def test_a_gateway_that_raises_a_foreign_exception_is_retried_not_fatal(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    gw = gateway(sim)
    calls = {"n": 0}
    real_send = gw.send

    async def flaky(batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= 3:
            raise KeyError("bug in a plugin")
        return await real_send(batch)

    gw.send = flaky  # type: ignore[method-assign]
    load(ledger, 5)
    summary = asyncio.run(run_engine(ledger, {"sim": gw}))
    assert summary.counts["accepted"] == 5
    assert summary.stats["retried"] == 3


class _FailingLedger(SqliteLedger):
    """A ledger whose disk fills up after ``fail_after`` recordings."""

    def __init__(self, path: Path, fail_after: int) -> None:
        super().__init__(path)
        self.calls = 0
        self.fail_after = fail_after

    def record(self, results: Sequence[Result], now: float) -> None:
        self.calls += 1
        if self.calls > self.fail_after:
            raise sqlite3.OperationalError("database or disk is full")
        super().record(results, now)


def test_a_ledger_failure_stops_the_run_with_a_ledger_error(tmp_path: Path,
                                                            carrier_simulator: Any) -> None:
    """A recording that fails (disk full) stops the run with a LedgerError, wherever the
    engine flushed from (a worker, the main loop, the shutdown)."""
    store = _FailingLedger(tmp_path / "full.sqlite", fail_after=1)
    load(store, 3000)
    sim = carrier_simulator()
    with pytest.raises(LedgerError, match="disk is full"):
        asyncio.run(run_engine(store, {"sim": gateway(sim, max_batch=50)}))
    counts = store.counts("c")
    assert sum(counts.values()) == 3000  # nothing lost: unrecorded rows stay submitted
    assert counts["accepted"] + counts["submitted"] + counts["queued"] == 3000
    store.close()
