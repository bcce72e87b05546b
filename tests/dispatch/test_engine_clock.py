"""Quiet hours, the frequency cap and send-by deadlines with an injected FrozenClock."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pendulum

from langson_comms.clock import LOCAL_TZ, FrozenClock
from langson_comms.config import ConfigContext
from langson_comms.messages import Message
from langson_comms.runtime import Runtime
from langson_comms.sms.engine import RetryPolicy
from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger
from langson_comms.sms.policies import PolicySet

from .conftest import load
from .helpers import gateway, run_engine

PROMO = Message("m", "Tai ung dung Cong dan so Xu Lang de nhan qua")


FOOTER = {"footer": "Tu choi QC soan TC gui 1234"}


def _policies(*names: str) -> PolicySet:
    registry = Runtime.create(entry_points=False, env={}).registry
    ctx = ConfigContext("campaign.toml", Path("."), "channels.sms.policies")
    return PolicySet(
        registry.get("policy", n).from_config(FOOTER if n == "opt_out_footer" else {},
                                              ctx.child(n))
        for n in names
    )


def _local(row_time: pendulum.DateTime | None) -> pendulum.DateTime:
    assert row_time is not None
    return row_time.in_timezone(LOCAL_TZ)


def test_quiet_hours_hold_then_send_when_the_window_opens(ledger: SqliteLedger,
                                                          carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T22:30:00")
    load(ledger, 20, promotional=True)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(
        ledger, {"sim": gateway(sim)}, message=PROMO, clock=clock, idle_poll=3600,
        policies=_policies("sending_window", "qc_label", "opt_out_footer")))
    assert summary.outcome == "completed"
    assert summary.counts["accepted"] == 20
    assert summary.stats["held"] == 20
    rows = list(ledger.rows("c"))
    opened = pendulum.datetime(2022, 7, 2, 7, 0, tz=LOCAL_TZ)
    assert all(_local(r.accepted_at) >= opened for r in rows)
    assert all(_local(r.accepted_at) < opened.add(minutes=1) for r in rows)
    # the rewrite policies ran: label first, opt-out footer last
    text = sim.accepted_snapshot()[0].text
    assert text.startswith("[QC] ") and text.endswith(" Tu choi QC soan TC gui 1234")


def test_public_notice_is_not_held_at_night(ledger: SqliteLedger, carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T23:00:00")
    notice = Message("m", "Thong bao mat dien", classification="public_notice",
                     classified_by="UBND tinh")
    load(ledger, 5)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, message=notice, clock=clock,
                                     policies=_policies("sending_window")))
    assert summary.counts["accepted"] == 5 and summary.stats.get("held", 0) == 0
    assert _local(next(ledger.rows("c")).accepted_at).hour == 23


def test_a_hold_past_the_deadline_expires(ledger: SqliteLedger, carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T22:30:00")
    load(ledger, 10, promotional=True)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(
        ledger, {"sim": gateway(sim)}, message=PROMO, clock=clock, idle_poll=3600,
        send_by=pendulum.datetime(2022, 7, 2, 6, 0, tz=LOCAL_TZ),
        policies=_policies("sending_window")))
    assert summary.counts["expired"] == 10
    assert sim.accepted_snapshot() == []
    reason = next(ledger.rows("c")).reason or ""
    assert reason.startswith("send-by deadline falls inside a hold: sending_window: hold")


def test_retries_stop_at_the_deadline(ledger: SqliteLedger, carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T10:00:00")
    load(ledger, 10)
    sim = carrier_simulator(fail_5xx=1.0)
    summary = asyncio.run(run_engine(
        ledger, {"sim": gateway(sim)}, clock=clock, breaker_threshold=1000,
        retry=RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=60.0),
        send_by=clock.now().add(minutes=5)))
    assert summary.counts["expired"] == 10
    assert summary.outcome in ("completed", "deadline")
    assert clock.now() <= pendulum.datetime(2022, 7, 1, 10, 5, tz=LOCAL_TZ)
    assert all("deadline" in (r.reason or "") for r in ledger.rows("c"))
    assert sim.stats()["http_5xx"] >= 10


def test_rows_queued_when_the_deadline_passes_expire(ledger: SqliteLedger,
                                                     carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T10:00:00")
    load(ledger, 10)
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, clock=clock,
                                     send_by=clock.now().subtract(seconds=1)))
    assert summary.outcome == "deadline"
    assert summary.counts["expired"] == 10
    assert {r.reason for r in ledger.rows("c")} == {"send-by deadline passed before sending"}


def test_frequency_cap_counts_earlier_sends_from_the_ledger(ledger: SqliteLedger,
                                                            carrier_simulator: Any) -> None:
    number = "+84912345678"
    t0 = pendulum.datetime(2022, 7, 1, 9, 0, tz=LOCAL_TZ)
    for i, key in enumerate(("p1", "p2", "p3")):
        ledger.enqueue("c", key, [Recipient(number)], promotional=True, now=t0.timestamp())
        (row,) = ledger.claim("c", key, t0.timestamp(), 10)
        ledger.record([Result(row.id, SmsState.ACCEPTED, carrier_id=f"old{i}")],
                      t0.add(hours=i).timestamp())
    ledger.enqueue("c", "m", [Recipient(number)], promotional=True, now=t0.timestamp())
    clock = FrozenClock(t0.add(hours=3))
    sim = carrier_simulator()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, message=PROMO, clock=clock,
                                     idle_poll=3600, policies=_policies("frequency_cap")))
    assert summary.counts["accepted"] == 1 and summary.stats["held"] >= 1
    sent = next(iter(ledger.rows("c", "m")))
    # held until the first of the three earlier SMS left the 24 h window
    assert t0.add(hours=24) <= _local(sent.accepted_at) < t0.add(hours=24, seconds=1)


def test_accepted_rows_without_a_report_expire_after_the_report_timeout(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T10:00:00")
    load(ledger, 3)
    sim = carrier_simulator()  # sends no delivery reports
    first = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, clock=clock,
                                   report_timeout=72 * 3600))
    assert first.counts["accepted"] == 3
    clock.advance(hours=71)
    assert asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, clock=clock,
                                  report_timeout=72 * 3600)).counts["accepted"] == 3
    clock.advance(hours=2)
    later = asyncio.run(run_engine(ledger, {"sim": gateway(sim)}, clock=clock,
                                   report_timeout=72 * 3600))
    assert later.counts["expired"] == 3 and later.counts["accepted"] == 0
    assert {r.reason for r in ledger.rows("c")} == {"no delivery report in time"}
    assert len(sim.accepted_snapshot()) == 3


def test_rate_limits_run_on_the_injected_clock(ledger: SqliteLedger,
                                               carrier_simulator: Any) -> None:
    clock = FrozenClock("2022-07-01T10:00:00")
    load(ledger, 50)
    sim = carrier_simulator()
    started = clock.now()
    summary = asyncio.run(run_engine(ledger, {"sim": gateway(sim, rate_msgs=10, burst=0.5,
                                                              connections=2)}, clock=clock))
    assert summary.counts["accepted"] == 50
    # 50 messages at 10/s after a 5-message burst: about 4.5 s of the frozen clock
    assert 4.0 <= (clock.now() - started).total_seconds() <= 5.5
