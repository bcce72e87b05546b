"""Delivery reports are keyed per gateway: carrier ids are only unique per gateway.

Two simulators both number their messages SIM1, SIM2, ...; each posts its reports to its
own path of one receiver, and every row gets its own gateway's report.  An old report for
a reused id never finishes a new row, and a ledger file with the old ``reports`` table
(keyed on carrier id alone) is migrated when opened.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from langson_comms.sms.engine import Routing
from langson_comms.sms.ledger import DeliveryReport, Ledger, Recipient, Result, SmsState, SqliteLedger
from langson_comms.sms.reports import ReportReceiver

from .conftest import numbers
from .helpers import gateway, run_engine, wait_for_reports


@pytest.fixture
def ledger(any_ledger: Ledger) -> Ledger:
    """These tests run on both ledger backends (SQLite, PostgreSQL)."""
    return any_ledger


def test_two_gateways_with_the_same_ids_get_their_own_reports(
    ledger: Ledger, carrier_simulator: Any
) -> None:
    ledger.enqueue("c", "m", [Recipient(m, "viettel") for m in numbers(10)],
                   promotional=False, now=1.0)
    ledger.enqueue("c", "m", [Recipient(m, "mobifone") for m in numbers(10, start=100)],
                   promotional=False, now=1.0)

    async def main() -> ReportReceiver:
        async with ReportReceiver(ledger, formats={"a": _default(), "b": _default()},
                                  insecure=True) as rx:
            a = carrier_simulator(dlr_url=rx.url_for("a"), dlr_failed=1.0)  # all fail
            b = carrier_simulator(dlr_url=rx.url_for("b"), dlr_failed=0.0)  # all delivered
            await run_engine(ledger, {"a": gateway(a, "a"), "b": gateway(b, "b")},
                             Routing({"viettel": "a", "mobifone": "b"}))
            await wait_for_reports(ledger)
            return rx

    rx = asyncio.run(main())
    rows = list(ledger.rows("c"))
    # both carriers issued the same ids
    assert {r.carrier_id for r in rows if r.gateway == "a"} == \
        {r.carrier_id for r in rows if r.gateway == "b"} == {f"SIM{i}" for i in range(1, 11)}
    states = {(r.gateway, r.state) for r in rows}
    assert states == {("a", SmsState.FAILED), ("b", SmsState.DELIVERED)}, states
    assert rx.counters["received"] == 20 and rx.counters["new"] == 20


def _default() -> Any:
    from langson_comms.sms.http_gateway import ReportFormat

    return ReportFormat()


def test_unknown_gateway_path_is_refused(ledger: Ledger) -> None:
    async def main() -> tuple[int, int]:
        async with ReportReceiver(ledger, formats={"a": _default()}, insecure=True) as rx, \
                httpx.AsyncClient() as client:
            bad = await client.post(rx.url_for("zz"), json={"message_id": "X", "status": "delivered"})
            good = await client.post(rx.url_for("a"), json={"message_id": "X", "status": "delivered"})
            return bad.status_code, good.status_code

    assert asyncio.run(main()) == (404, 200)


def _accepted(ledger: Ledger, campaign: str, msisdn: str, gateway: str, carrier_id: str,
              at: float) -> None:
    ledger.enqueue(campaign, "m", [Recipient(msisdn)], promotional=False, now=at)
    (row,) = ledger.claim(campaign, "m", at, 10)
    ledger.record([Result(row.id, SmsState.ACCEPTED, gateway=gateway, carrier_id=carrier_id)],
                  at + 1)


def test_a_report_from_one_gateway_does_not_touch_the_others_row(ledger: Ledger) -> None:
    _accepted(ledger, "c", "+84910000001", "a", "SIM1", 1.0)
    _accepted(ledger, "c", "+84910000002", "b", "SIM1", 1.0)
    assert ledger.record_reports([DeliveryReport("SIM1", "failed", error="UNDELIV")], 3.0,
                                 gateway="a") == 1
    # not a replay of a's report: b's own
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered", gateway="b")], 3.0) == 1
    states = {r.msisdn: r.state for r in ledger.rows("c")}
    assert states == {"+84910000001": SmsState.FAILED, "+84910000002": SmsState.DELIVERED}
    # replays of either change nothing
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 4.0, gateway="b") == 0


def test_a_report_of_unknown_gateway_fitting_two_rows_is_applied_to_neither(
    ledger: Ledger
) -> None:
    _accepted(ledger, "c", "+84910000001", "a", "SIM1", 1.0)
    _accepted(ledger, "c", "+84910000002", "b", "SIM1", 1.0)
    assert ledger.record_reports([DeliveryReport("SIM1", "failed")], 3.0) == 1
    assert {r.state for r in ledger.rows("c")} == {SmsState.ACCEPTED}


def test_an_old_report_for_a_reused_id_does_not_finish_a_new_row(ledger: Ledger) -> None:
    _accepted(ledger, "old", "+84910000001", "a", "SIM1", 1.0)
    assert ledger.record_reports([DeliveryReport("SIM1", "failed", error="UNDELIV")], 3.0) == 1
    assert next(ledger.rows("old")).state is SmsState.FAILED
    # a restarted carrier (or another campaign) hands out SIM1 again
    _accepted(ledger, "new", "+84910000002", "a", "SIM1", 10.0)
    assert next(ledger.rows("new")).state is SmsState.ACCEPTED
    # the new message's own report is not taken for a replay of the old one
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 12.0, gateway="a") == 1
    assert next(ledger.rows("new")).state is SmsState.DELIVERED
    assert next(ledger.rows("old")).state is SmsState.FAILED
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 13.0, gateway="a") == 0


def test_a_reused_ids_report_before_the_submit_answer_is_not_taken_for_a_replay(
    ledger: Ledger
) -> None:
    _accepted(ledger, "old", "+84910000001", "a", "SIM1", 1.0)
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 3.0, gateway="a") == 1
    # the carrier hands out SIM1 again; its report comes before the answer is recorded
    ledger.enqueue("new", "m", [Recipient("+84910000002")], promotional=False, now=10.0)
    (row,) = ledger.claim("new", "m", 10.0, 10)
    ledger.record_reports([DeliveryReport("SIM1", "failed", error="UNDELIV")], 10.5,
                          gateway="a")
    ledger.record([Result(row.id, SmsState.ACCEPTED, gateway="a", carrier_id="SIM1")], 11.0)
    new = next(ledger.rows("new"))
    assert (new.state, new.reason) == (SmsState.FAILED, "carrier report: failed (UNDELIV)")
    assert next(ledger.rows("old")).state is SmsState.DELIVERED
    # a replay of the old report, now, finishes nothing
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 12.0, gateway="a") == 0


def test_a_replay_after_the_row_finished_is_not_applied_to_a_later_row(
    ledger: Ledger
) -> None:
    _accepted(ledger, "old", "+84910000001", "a", "SIM1", 1.0)
    ledger.record_reports([DeliveryReport("SIM1", "failed")], 3.0, gateway="a")
    assert ledger.record_reports([DeliveryReport("SIM1", "failed")], 4.0, gateway="a") == 0
    _accepted(ledger, "new", "+84910000002", "a", "SIM1", 10.0)  # sent after the replay
    assert next(ledger.rows("new")).state is SmsState.ACCEPTED


def test_a_report_received_before_the_row_was_sent_is_not_applied(ledger: Ledger) -> None:
    # a report nobody claimed (its row expired, or another system's id) ...
    assert ledger.record_reports([DeliveryReport("SIM7", "failed")], 3.0, gateway="a") == 1
    # ... is not taken for a row sent later that got the same id
    _accepted(ledger, "c", "+84910000001", "a", "SIM7", 10.0)
    assert next(ledger.rows("c")).state is SmsState.ACCEPTED
    assert ledger.record_reports([DeliveryReport("SIM7", "delivered")], 12.0, gateway="a") == 1
    assert next(ledger.rows("c")).state is SmsState.DELIVERED


def test_a_report_for_a_lost_answer_applies_to_the_retry(ledger: Ledger) -> None:
    """The carrier accepted attempt 1 but the answer was lost; its report came before the
    retry, which the carrier de-duplicated and answered with the same id."""
    ledger.enqueue("c", "m", [Recipient("+84910000001")], promotional=False, now=1.0)
    (row,) = ledger.claim("c", "m", 2.0, 10)
    ledger.record([Result(row.id, SmsState.QUEUED, gateway="a", reason="timeout")], 3.0)
    assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 3.5, gateway="a") == 1
    (row,) = ledger.claim("c", "m", 4.0, 10)
    ledger.record([Result(row.id, SmsState.ACCEPTED, gateway="a", carrier_id="SIM1")], 5.0)
    assert next(ledger.rows("c")).state is SmsState.DELIVERED


_OLD_SCHEMA = """
CREATE TABLE sms (
    id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, message TEXT NOT NULL,
    msisdn TEXT NOT NULL, carrier_hint TEXT NOT NULL, fields TEXT, source TEXT,
    promotional INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, gateway TEXT,
    carrier_id TEXT, segments INTEGER, reason TEXT, idem_key TEXT NOT NULL,
    created_at REAL NOT NULL, submitted_at REAL, accepted_at REAL, final_at REAL,
    UNIQUE (campaign, message, msisdn)
);
CREATE TABLE reports (
    carrier_id TEXT NOT NULL, part INTEGER NOT NULL, parts INTEGER, status TEXT NOT NULL,
    error TEXT, received_at REAL NOT NULL, PRIMARY KEY (carrier_id, part)
) WITHOUT ROWID;
INSERT INTO sms (campaign, message, msisdn, carrier_hint, promotional, state, attempts,
    gateway, carrier_id, segments, idem_key, created_at, submitted_at, accepted_at, final_at)
VALUES ('c', 'm', '+84910000001', 'viettel', 0, 'delivered', 1, 'a', 'SIM1', 1, 'k1',
        1.0, 1.0, 2.0, 3.0),
       ('c', 'm', '+84910000002', 'viettel', 0, 'accepted', 1, 'a', 'SIM2', 2, 'k2',
        1.0, 1.0, 2.0, NULL);
INSERT INTO reports VALUES ('SIM1', 1, 1, 'delivered', NULL, 3.0),
                           ('SIM2', 1, 2, 'delivered', NULL, 3.0);
"""


def test_a_ledger_with_the_old_reports_table_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
    with SqliteLedger(path) as ledger:
        columns = [r[1] for r in ledger._db.execute("PRAGMA table_info(reports)")]
        assert {"gateway", "applied_to"} <= set(columns)
        kept = ledger._db.execute(
            "SELECT carrier_id, gateway, part, applied_to FROM reports ORDER BY carrier_id"
        ).fetchall()
        assert kept == [("SIM1", "", 1, 1), ("SIM2", "", 1, None)]
        # the old part-1 report still counts for SIM2: its second part completes it
        assert ledger.record_reports([DeliveryReport("SIM2", "delivered", 2, 2)], 4.0,
                                     gateway="a") == 1
        assert [r.state for r in ledger.rows("c")] == [SmsState.DELIVERED] * 2
        # a replay of the old report is still a replay
        assert ledger.record_reports([DeliveryReport("SIM1", "delivered")], 5.0) == 0
    with SqliteLedger(path) as again:  # opening a migrated file changes nothing
        assert again._db.execute("SELECT count(*) FROM reports").fetchone() == (3,)
