"""Delivery reports and the ledger: crashes, gateways that share ids, replays (regressions
found in review)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langson_comms.sms.ledger import DeliveryReport, Ledger, Recipient, Result, SmsState, SqliteLedger


def test_report_received_while_sender_was_dead_finishes_the_resent_row(
        ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel")], promotional=False,
                   now=100.0)
    (row,) = ledger.claim("c", "m", 200.0, 10)  # sent; carrier accepts as X; kill -9
    ledger.record_reports([DeliveryReport("X", "delivered")], 210.0, gateway="sim")
    assert ledger.recover_in_flight("c", "m") == 1  # resume
    (again,) = ledger.claim("c", "m", 300.0, 10)
    assert again.idempotency_key == row.idempotency_key
    # the gateway honours the key: same carrier id, no second message
    ledger.record([Result(again.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 301.0)
    assert ledger.counts("c")["delivered"] == 1, ledger.counts("c")


def test_same_with_a_lost_answer_works(
        ledger_factory: Callable[[], Ledger]) -> None:
    """Control: when the first attempt was recorded (timeout), the report does apply."""
    ledger = ledger_factory()
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel")], promotional=False,
                   now=100.0)
    (row,) = ledger.claim("c", "m", 200.0, 10)
    ledger.record_reports([DeliveryReport("X", "delivered")], 210.0, gateway="sim")
    ledger.record([Result(row.id, SmsState.QUEUED, True, "sim", next_at=0)], 220.0)
    (again,) = ledger.claim("c", "m", 300.0, 10)
    ledger.record([Result(again.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 301.0)
    assert ledger.counts("c")["delivered"] == 1, ledger.counts("c")


def test_unknown_gateway_report_is_not_given_to_the_other_gateways_row(
        ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel"),
                              Recipient("+84910000002", "mobifone")], promotional=False,
                   now=100.0)
    a, b = ledger.claim("c", "m", 150.0, 10)
    ledger.record([Result(a.id, SmsState.ACCEPTED, True, "gw1", "X", 1),
                   Result(b.id, SmsState.ACCEPTED, True, "gw2", "X", 1)], 160.0)
    # gw1's carrier reports a failure on the bare path: ambiguous, kept waiting
    ledger.record_reports([DeliveryReport("X", "failed", error="absent")], 170.0)
    assert ledger.counts("c")["accepted"] == 2
    # gw1's carrier repeats it on gw1's own path: finishes a
    ledger.record_reports([DeliveryReport("X", "failed", error="absent")], 171.0, gateway="gw1")
    # gw2's carrier reports b delivered on gw2's path
    ledger.record_reports([DeliveryReport("X", "delivered")], 172.0, gateway="gw2")
    counts = ledger.counts("c")
    assert counts["failed"] == 1 and counts["delivered"] == 1, counts


def test_plain_replays_are_not_kept_forever(tmp_path: Any) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite")
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel")], promotional=False, now=1.0)
    (a,) = ledger.claim("c", "m", 2.0, 1)
    ledger.record([Result(a.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 3.0)
    for t in range(10):  # the carrier retries its callback 10 times
        ledger.record_reports([DeliveryReport("X", "delivered")], 10.0 + t, gateway="sim")
    n = ledger._db.execute("SELECT count(*) FROM report_echoes").fetchone()[0]
    assert n == 0, f"{n} replays kept in report_echoes"


def test_replayed_old_report_does_not_finish_a_retried_row_with_the_reused_id(
        ledger_factory: Callable[[], Ledger]) -> None:
    ledger = ledger_factory()
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel"),
                              Recipient("+84910000002", "viettel")], promotional=False,
                   now=100.0)
    a, b = ledger.claim("c", "m", 150.0, 10)
    # b's first attempt times out; a is accepted as X
    ledger.record([Result(b.id, SmsState.QUEUED, True, "sim", reason="timeout", next_at=0),
                   Result(a.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 160.0)
    ledger.record_reports([DeliveryReport("X", "failed", error="absent")], 210.0, gateway="sim")
    # the carrier sends a's report twice (a replay): kept aside in report_echoes
    ledger.record_reports([DeliveryReport("X", "failed", error="absent")], 220.0, gateway="sim")
    (b2,) = ledger.claim("c", "m", 300.0, 10)
    ledger.record([Result(b2.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 301.0)  # id reused
    counts = ledger.counts("c")
    assert counts["accepted"] == 1 and counts["failed"] == 1, counts


# An old ledger (before first_submitted_at) upgraded while rows were in flight.


def _old_ledger(path: Path) -> None:
    ledger = SqliteLedger(path)
    ledger.enqueue("c", "m", [Recipient("+84910000001", "viettel")], promotional=False, now=100.0)
    ledger._db.execute("ALTER TABLE sms DROP COLUMN first_submitted_at")  # the old schema
    # the old version's claim (no first_submitted_at): sent at 200, then kill -9
    ledger._db.execute("UPDATE sms SET state='submitted', submitted_at=200.0")
    # the old version stored the report (received at 210) while the row was in flight
    ledger._db.execute("INSERT INTO reports (carrier_id, gateway, part, parts, status, error,"
                       " received_at) VALUES ('X', 'sim', 1, NULL, 'delivered', NULL, 210.0)")
    ledger._db.close()


def test_old_ledger_crash_then_upgrade_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    _old_ledger(path)
    ledger = SqliteLedger(path)  # new version: migration adds the column
    assert ledger.recover_in_flight("c", "m") == 1
    (again,) = ledger.claim("c", "m", 300.0, 10)
    ledger.record([Result(again.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 301.0)
    assert ledger.counts("c")["delivered"] == 1, ledger.counts("c")


def test_old_ledger_lost_answer_then_upgrade(tmp_path: Path) -> None:
    """Row tried once (answer lost -> requeued, attempts 1) under the old version."""
    path = tmp_path / "l.sqlite"
    _old_ledger(path)
    db = sqlite3.connect(path)
    db.execute("UPDATE sms SET state='queued', attempts=1, next_at=0")
    db.commit()
    db.close()
    ledger = SqliteLedger(path)
    (again,) = ledger.claim("c", "m", 300.0, 10)
    ledger.record([Result(again.id, SmsState.ACCEPTED, True, "sim", "X", 1)], 301.0)
    assert ledger.counts("c")["delivered"] == 1, ledger.counts("c")
