"""The SQLite ledger: loading, the state machine, crash recovery, delivery reports."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from langson_comms.errors import LedgerError
from langson_comms.sms.ledger import (
    DeliveryReport,
    Ledger,
    LedgerSendHistory,
    Recipient,
    Result,
    SmsState,
    SqliteLedger,
    idempotency_key,
)

from .conftest import load, numbers


@pytest.fixture
def ledger(any_ledger: Ledger) -> Ledger:
    """The contract below runs on both backends (SQLite, PostgreSQL)."""
    return any_ledger


def test_file_is_owner_only_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "work" / "ledger.sqlite"
    with SqliteLedger(path) as ledger:
        load(ledger, 3)
        for p in [path, *path.parent.glob("ledger.sqlite-*")]:
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_loading_twice_adds_nothing(ledger: Ledger) -> None:
    recipients = [Recipient(m, "viettel", {"ten": "An"}, f"a.csv:{i}")
                  for i, m in enumerate(numbers(50))]
    assert ledger.enqueue("c", "m", recipients, promotional=True, now=1.0) == (50, 0)
    assert ledger.enqueue("c", "m", [*recipients, Recipient("+84987654321")],
                          promotional=True, now=2.0) == (1, 50)
    assert ledger.counts("c")["queued"] == 51
    # another message of the same campaign is another row per recipient
    assert ledger.enqueue("c", "m2", recipients, promotional=True, now=3.0) == (50, 0)
    row = next(ledger.rows("c", "m"))
    assert row.idempotency_key == idempotency_key("c", "m", row.msisdn)
    assert row.source == "a.csv:0"


def test_claim_record_and_recover_in_flight(ledger: Ledger) -> None:
    load(ledger, 10)
    claimed = ledger.claim("c", "m", now=100.0, limit=4)
    assert [r.id for r in claimed] == [1, 2, 3, 4]
    assert ledger.counts("c")["submitted"] == 4
    ledger.record([
        Result(1, SmsState.ACCEPTED, gateway="g", carrier_id="X1", segments=2),
        Result(2, SmsState.QUEUED, gateway="g", reason="attempt 1: HTTP 503", next_at=200.0),
        Result(3, SmsState.FAILED, gateway="g", reason="rejected: invalid_number"),
    ], now=101.0)
    rows = {r.id: r for r in ledger.rows("c")}
    assert rows[1].state is SmsState.ACCEPTED and rows[1].carrier_id == "X1"
    assert rows[1].attempts == 1 and rows[1].segments == 2
    assert rows[2].state is SmsState.QUEUED and rows[2].attempts == 1
    assert rows[3].state is SmsState.FAILED and rows[3].reason == "rejected: invalid_number"
    # row 2 is not due before 200
    assert 2 not in [r.id for r in ledger.claim("c", "m", now=150.0, limit=100)]
    # a crash leaves rows submitted: recovery puts them back, attempts kept
    assert ledger.recover_in_flight("c", "m") == 1 + 6
    assert ledger.counts("c")["submitted"] == 0
    again = ledger.claim("c", "m", now=300.0, limit=100)
    assert {r.id for r in again} == {2, 4, 5, 6, 7, 8, 9, 10}
    assert ledger.next_due("c", "m") is None


def test_final_states_never_move_back(ledger: Ledger) -> None:
    load(ledger, 2)
    ledger.claim("c", "m", 1.0, 10)
    ledger.record([Result(1, SmsState.FAILED, reason="x"), Result(2, SmsState.EXPIRED,
                                                                   reason="y")], 2.0)
    ledger.record([Result(1, SmsState.ACCEPTED, carrier_id="A"),
                   Result(2, SmsState.QUEUED)], 3.0)
    states = [r.state for r in ledger.rows("c")]
    assert states == [SmsState.FAILED, SmsState.EXPIRED]


def _accept(ledger: Ledger, segments: int = 1) -> None:
    ledger.claim("c", "m", 1.0, 10)
    ledger.record([Result(1, SmsState.ACCEPTED, carrier_id="A1", segments=segments)], 2.0)


def test_multipart_report_delivers_only_when_every_part_is_in(ledger: Ledger) -> None:
    load(ledger, 1)
    _accept(ledger, segments=3)
    assert ledger.record_reports([DeliveryReport("A1", "delivered", 1, 3)], 3.0) == 1
    assert ledger.record_reports([DeliveryReport("A1", "delivered", 2, 3)], 3.0) == 1
    assert next(ledger.rows("c")).state is SmsState.ACCEPTED
    assert ledger.record_reports([DeliveryReport("A1", "delivered", 3, 3)], 4.0) == 1
    row = next(ledger.rows("c"))
    assert row.state is SmsState.DELIVERED and row.final_at is not None


def test_a_failed_part_fails_the_message_with_the_reason(ledger: Ledger) -> None:
    load(ledger, 1)
    _accept(ledger, segments=2)
    ledger.record_reports([DeliveryReport("A1", "delivered", 1, 2),
                           DeliveryReport("A1", "failed", 2, 2, "UNDELIV")], 3.0)
    row = next(ledger.rows("c"))
    assert row.state is SmsState.FAILED
    assert row.reason == "carrier report: failed (UNDELIV)"


def test_reports_are_replay_safe(ledger: Ledger) -> None:
    load(ledger, 1)
    _accept(ledger)
    report = DeliveryReport("A1", "delivered")
    assert ledger.record_reports([report, report], 3.0) == 1
    assert ledger.record_reports([report], 4.0) == 0
    # a contradicting late report cannot reopen a final row
    ledger.record_reports([DeliveryReport("A1", "failed", 1, 1, "late")], 5.0)
    assert next(ledger.rows("c")).state is SmsState.DELIVERED


def test_report_before_the_submit_answer_is_applied_on_acceptance(ledger: Ledger) -> None:
    load(ledger, 1)
    ledger.claim("c", "m", 1.0, 10)
    assert ledger.record_reports([DeliveryReport("A1", "delivered")], 1.5) == 1
    assert next(ledger.rows("c")).state is SmsState.SUBMITTED
    ledger.record([Result(1, SmsState.ACCEPTED, carrier_id="A1", segments=1)], 2.0)
    assert next(ledger.rows("c")).state is SmsState.DELIVERED


def test_finish_queued_control_and_reasons(ledger: Ledger) -> None:
    load(ledger, 5)
    ledger.claim("c", "m", 1.0, 2)
    assert ledger.finish_queued("c", "m", SmsState.CANCELLED, "cancelled by operator", 2.0) == 3
    assert ledger.counts("c")["cancelled"] == 3
    assert ledger.failure_reasons("c") == {"cancelled by operator": 3}
    with pytest.raises(LedgerError):
        ledger.finish_queued("c", "m", SmsState.QUEUED, "no", 2.0)
    assert ledger.control("c", "m") == "running"
    ledger.set_control("c", "m", "paused")
    assert ledger.control("c", "m") == "paused"
    with pytest.raises(LedgerError, match="unknown control state"):
        ledger.set_control("c", "m", "asleep")


def test_send_history_counts_accepted_promotional_sms(ledger: Ledger) -> None:
    import pendulum

    ledger.enqueue("c", "promo", [Recipient("+84912345678")], promotional=True, now=1.0)
    ledger.enqueue("c", "notice", [Recipient("+84912345678")], promotional=False, now=1.0)
    for message in ("promo", "notice"):
        ledger.claim("c", message, 1.0, 10)
    t = pendulum.datetime(2022, 7, 1, 9, tz="Asia/Ho_Chi_Minh")
    ledger.record([Result(1, SmsState.ACCEPTED, carrier_id="A"),
                   Result(2, SmsState.ACCEPTED, carrier_id="B")], t.timestamp())
    history = LedgerSendHistory(ledger)
    assert history.count_promotional("+84912345678", t.subtract(hours=24)) == 1
    assert history.count_promotional("+84912345678", t.add(seconds=1)) == 0
    assert history.count_promotional("+84900000000", t.subtract(hours=24)) == 0


def test_carrier_broadcast_order_and_totals(ledger: Ledger) -> None:
    ledger.order_broadcast("c", "viettel", "sms_invite", 1.0)
    ledger.order_broadcast("c", "viettel", "sms_invite", 2.0)  # ordering twice is one order
    ledger.report_broadcast("c", "viettel", "sms_invite", subscribers=400_000, sent=398_000,
                            delivered=390_000, now=3.0)
    (order,) = ledger.broadcast_orders("c")
    assert (order.subscribers, order.sent, order.delivered) == (400_000, 398_000, 390_000)
    with pytest.raises(LedgerError, match="delivered"):
        ledger.report_broadcast("c", "viettel", "sms_invite", subscribers=10, sent=5,
                                delivered=6, now=4.0)
    with pytest.raises(LedgerError, match="order it first"):
        ledger.report_broadcast("c", "mobifone", "sms_invite", subscribers=1, sent=1,
                                delivered=1, now=4.0)


def test_delivered_by_day_counts_local_days_without_scanning_the_table(tmp_path: Path) -> None:
    # the report and the dashboard read this over a million-row ledger: it must come from
    # an index of the delivered rows by final_at, not a scan computing a date per row
    path = tmp_path / "ledger.sqlite"
    SqliteLedger(path).close()
    day0 = 1656608400.0  # 2022-07-01 00:00 at UTC+7
    rows = []
    for i in range(3000):
        state = ("delivered", "delivered", "delivered", "failed", "accepted")[i % 5]
        final = None if state == "accepted" or i % 97 == 0 else day0 + (i * 7919) % (20 * 86400) - 3600
        rows.append(("c" if i % 11 else "other", ("m1", "m2")[i % 2], f"+8491{i:07d}", state, f"k{i}", final))
    with sqlite3.connect(path) as db:
        db.executemany("INSERT INTO sms (campaign, message, msisdn, carrier_hint, promotional, state, idem_key,"
                       " created_at, final_at) VALUES (?, ?, ?, 'viettel', 0, ?, ?, 0, ?)", rows)
    expected: dict[tuple[str, str], int] = {}
    for campaign, message, _, state, _, final in rows:
        if campaign == "c" and state == "delivered" and final is not None:
            day = dt.datetime.fromtimestamp(final, dt.timezone(dt.timedelta(hours=7))).date().isoformat()
            expected[(day, message)] = expected.get((day, message), 0) + 1
    statements: list[str] = []
    with SqliteLedger(path) as ledger:
        ledger._db.set_trace_callback(statements.append)
        assert ledger.delivered_by_day("c") == expected
        assert ledger.delivered_by_day("none") == {}
        ledger._db.set_trace_callback(None)
    with sqlite3.connect(path) as db:
        plans = [" ".join(str(r[3]) for r in db.execute("EXPLAIN QUERY PLAN " + s))
                 for s in statements if s.lstrip().upper().startswith("SELECT")]
    # every read is answered from an index alone (no table row is read)
    assert plans and all("COVERING INDEX" in p for p in plans), plans


def test_numbers_after_reads_forward_from_the_row_id(tmp_path: Path) -> None:
    # each report asks for the rows added since its last one: a seek on the row id, not a
    # walk of the campaign's whole index (0.08 s at a million rows, for nothing new)
    # (SQLite's query plan: the `ledger` fixture is both backends, this one is SQLite's own)
    with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
        _numbers_after_seeks(ledger)


def _numbers_after_seeks(ledger: SqliteLedger) -> None:
    load(ledger, 5)
    load(ledger, 2, campaign="other")
    rows = list(ledger.numbers_after("c", 2))
    assert [n for _, n in rows] == numbers(5)[2:] and [i for i, _ in rows] == sorted(i for i, _ in rows)
    statements: list[str] = []
    ledger._db.set_trace_callback(statements.append)
    list(ledger.numbers_after("c", 2))
    ledger._db.set_trace_callback(None)
    plan = " ".join(str(r[3]) for r in ledger._db.execute("EXPLAIN QUERY PLAN " + statements[-1]))
    assert "INTEGER PRIMARY KEY (rowid>?)" in plan and "TEMP B-TREE" not in plan, plan


def test_breaker_events_are_summed_per_gateway(ledger: Ledger) -> None:
    ledger.record_breaker_event("c", "m", "gw", "open", "5 of 8 requests failed", 0.0, 10.0)
    ledger.record_breaker_event("c", "m", "gw", "reopen", "probe failed: HTTP 503", 0.0, 11.0)
    ledger.record_breaker_event("c", "m", "gw", "close", "probe ok", 3.5, 13.5)
    ledger.record_breaker_event("c", "m", "gw2", "open", "timeouts", 0.0, 20.0)
    ledger.record_breaker_event("c", "other", "gw", "open", "elsewhere", 0.0, 20.0)
    summary = ledger.breaker_summary("c", "m")
    gw, gw2 = summary["gw"], summary["gw2"]
    assert (gw.opens, gw.failed_probes, gw.is_open, gw.open_seconds) == (1, 1, False, 3.5)
    assert gw.last_open_reason == "probe failed: HTTP 503" and gw.last_close is not None
    assert gw2.is_open and gw2.opens == 1 and gw2.last_open is not None
    assert set(summary) == {"gw", "gw2"}


def test_loading_in_small_chunks_keeps_order_and_counts_repeats_across_chunks(
        ledger: Ledger) -> None:
    wanted = numbers(40)
    # every fifth number again a few rows later, often in the next chunk of 7
    audience: list[str] = []
    for i, number in enumerate(wanted):
        audience += [number, wanted[i - 3]] if i % 5 == 4 else [number]
    added, present = ledger.enqueue("c", "m", [Recipient(m) for m in audience],
                                    promotional=False, now=1.0, chunk=7)
    assert (added, present) == (40, len(audience) - 40)
    rows = list(ledger.rows("c", "m"))
    assert [r.msisdn for r in rows] == wanted  # in the order given, each once
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert ledger.enqueue("c", "m", [Recipient(m) for m in wanted], promotional=False,
                          now=2.0, chunk=7) == (0, 40)


def test_routes_tried_are_kept_claimed_back_and_summed(ledger: Ledger) -> None:
    # issue 15's routes_tried (a gateway said "not mine") on both backends: appended in
    # order, handed back with the row when it is claimed again, summed per route
    load(ledger, 3)
    first, second, third = ledger.claim("c", "m", now=1.0, limit=3)
    ledger.record([Result(first.id, SmsState.QUEUED, attempted=False, next_at=0.0,
                          tried="v:not_subscriber"),
                   Result(second.id, SmsState.FAILED, gateway="agg", reason="no_route",
                          tried="v:not_subscriber"),
                   Result(third.id, SmsState.ACCEPTED, gateway="v", carrier_id="x3")], now=2.0)
    (again,) = ledger.claim("c", "m", now=3.0, limit=5)
    assert (again.id, again.routes_tried) == (first.id, "v:not_subscriber")
    ledger.record([Result(again.id, SmsState.ACCEPTED, gateway="agg", carrier_id="x1",
                          tried="zns:no_zalo_account")], now=4.0)
    rows = {r.id: r for r in ledger.rows("c", "m")}
    # an accepted outcome does not add to the list (as on SQLite): only refusals do
    assert rows[first.id].routes_tried == "v:not_subscriber"
    assert rows[second.id].routes_tried == "v:not_subscriber"
    assert rows[third.id].routes_tried is None
    summary = ledger.routes_summary("c", "m")
    assert summary == {"by_gateway": {"agg": {"accepted": 1, "failed": 1}, "v": {"accepted": 1}},
                       "fallbacks": {"v:not_subscriber": 2},
                       "rerouted": {"accepted": 1, "failed": 1}}
