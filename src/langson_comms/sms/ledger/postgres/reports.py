"""Delivery reports on PostgreSQL: the same rules as the SQLite ledger's ``reports.py``.

A report and the acceptance it belongs to may be written at the same moment by two
processes (a report receiver, a sender).  Each transaction that stores reports or records
acceptances first takes a transaction advisory lock per carrier id involved (sorted, so two
never wait on each other in a circle): the second one then sees the first one's rows, and a
report that came before its acceptance is applied by whichever commits last.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from typing import Any

from ..records import DeliveryReport
from ..report_rules import _ReportRow, decide_reports
from .base import Conn, PgBase, reconnecting
from .schema import REPORTS_LOCK

_SINCE = "coalesce(s.first_submitted_at, s.created_at)"

_STORE = (
    "INSERT INTO reports AS r (carrier_id, gateway, part, parts, status, error, received_at)"
    " VALUES (%(c)s, %(g)s, %(p)s, %(ps)s, %(s)s, %(e)s, %(t)s)"
    " ON CONFLICT (carrier_id, gateway, part) DO UPDATE SET parts=excluded.parts,"
    " status=excluded.status, error=excluded.error, received_at=excluded.received_at,"
    " applied_to=NULL WHERE EXISTS (SELECT 1 FROM sms s WHERE s.carrier_id=excluded.carrier_id"
    " AND s.state='accepted' AND (excluded.gateway='' OR s.gateway=excluded.gateway)"
    " AND s.id IS DISTINCT FROM r.applied_to AND (r.applied_to IS NOT NULL"
    f" OR r.received_at < {_SINCE}))"
)

_SAME = ("status=%(s)s AND error IS NOT DISTINCT FROM %(e)s::text"
         " AND parts IS NOT DISTINCT FROM %(ps)s::int")
_ECHO = (
    "INSERT INTO report_echoes (carrier_id, gateway, part, parts, status, error, received_at)"
    " SELECT %(c)s, %(g)s, %(p)s, %(ps)s::int, %(s)s, %(e)s::text, %(t)s WHERE EXISTS (SELECT 1"
    " FROM reports WHERE carrier_id=%(c)s AND gateway=%(g)s AND part=%(p)s"
    f" AND applied_to IS NOT NULL AND NOT ({_SAME})) AND NOT EXISTS (SELECT 1 FROM"
    f" report_echoes WHERE carrier_id=%(c)s AND gateway=%(g)s AND part=%(p)s AND {_SAME})"
)


def _lock_key(carrier_id: str) -> int:
    """A 32-bit signed key for ``carrier_id`` (the advisory lock's second half)."""
    h = zlib.crc32(carrier_id.encode())
    return h - (1 << 32) if h >= 1 << 31 else h


class PgReports(PgBase):
    """The delivery-report part of ``PostgresLedger``."""

    @staticmethod
    def _lock_reports(db: Conn, carrier_ids: Sequence[str]) -> None:
        keys = sorted({_lock_key(c) for c in carrier_ids})
        if keys:
            db.execute("SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) k",
                       (REPORTS_LOCK, keys))

    @reconnecting()
    def expire_unreported(self, campaign: str, message: str, accepted_before: float,
                          now: float) -> int:
        """Rows accepted before ``accepted_before`` that never got a delivery report end
        ``expired``."""
        with self._tx() as db:
            n = db.execute(
                "UPDATE sms SET state='expired', reason='no delivery report in time',"
                " final_at=%s WHERE campaign=%s AND message=%s AND state='accepted'"
                " AND accepted_at<%s", (now, campaign, message, accepted_before)).rowcount
            db.execute("DELETE FROM report_echoes WHERE received_at<%s", (accepted_before,))
            return n

    @staticmethod
    def _reported(db: Conn, carrier_ids: Sequence[str]) -> list[str]:
        """Those of ``carrier_ids`` that already have a report (it came before the answer)."""
        if not carrier_ids:
            return []
        return [r[0] for r in db.execute(
            "SELECT DISTINCT carrier_id FROM reports WHERE carrier_id = ANY(%s)",
            (list(carrier_ids),))]

    @reconnecting()
    def record_reports(self, reports: Sequence[DeliveryReport], now: float | None = None, *,
                       gateway: str | None = None) -> int:
        """Store delivery reports and apply them; return how many were new (replay-safe:
        see ``SqliteLedger.record_reports`` for the rules, which are the same)."""
        if not reports:
            return 0
        stamp = time.time() if now is None else now
        values = [{"c": r.carrier_id, "g": r.gateway or gateway or "", "p": r.part,
                   "ps": r.parts, "s": str(r.status), "e": r.error, "t": stamp}
                  for r in reports]
        with self._tx() as db:
            self._lock_reports(db, [r.carrier_id for r in reports])
            with db.cursor() as cur:
                # one statement per report, pipelined: a repeat within the batch meets its
                # twin; rowcount is the sum over the batch
                cur.executemany(_STORE, values)
                new = cur.rowcount
                cur.executemany(_ECHO, values)
            if new:
                self._resolve(db, sorted({r.carrier_id for r in reports}), stamp)
        return new

    @staticmethod
    def _promote_echoes(db: Conn, chunk: Sequence[str]) -> None:
        found = db.execute(
            "SELECT e.id, e.parts, e.status, e.error, e.received_at, e.carrier_id,"
            " e.gateway, e.part FROM sms s JOIN report_echoes e ON e.carrier_id = s.carrier_id"
            " JOIN reports r ON r.carrier_id = e.carrier_id AND r.gateway = e.gateway"
            " AND r.part = e.part WHERE s.carrier_id = ANY(%s) AND s.state='accepted'"
            " AND (e.gateway = '' OR e.gateway = s.gateway) AND r.applied_to IS NOT NULL"
            f" AND r.applied_to != s.id AND e.received_at >= {_SINCE}"
            " ORDER BY e.received_at", (list(chunk),)).fetchall()
        if found:
            with db.cursor() as cur:
                cur.executemany(
                    "UPDATE reports SET parts=%s, status=%s, error=%s, received_at=%s,"
                    " applied_to=NULL WHERE carrier_id=%s AND gateway=%s AND part=%s",
                    [f[1:] for f in found])
                cur.executemany("DELETE FROM report_echoes WHERE id=%s", [f[:1] for f in found])

    def _resolve(self, db: Conn, carrier_ids: Sequence[str], now: float) -> None:
        for start in range(0, len(carrier_ids), 1000):
            chunk = list(carrier_ids[start : start + 1000])
            self._promote_echoes(db, chunk)
            rows = [_ReportRow._make(r) for r in db.execute(
                "SELECT s.id, s.segments, r.carrier_id, r.gateway, r.part, r.parts, r.status,"
                " r.error FROM sms s JOIN reports r ON r.carrier_id = s.carrier_id"
                " WHERE s.carrier_id = ANY(%s) AND s.state='accepted'"
                " AND (r.gateway = '' OR r.gateway = s.gateway)"
                " AND (r.applied_to IS NULL OR r.applied_to = s.id)"
                f" AND r.received_at >= {_SINCE}", (chunk,))]
            updates, applied = decide_reports(rows, now)
            if updates:
                _apply(db, updates, applied)


def _apply(db: Conn, updates: list[tuple[Any, ...]], applied: list[tuple[Any, ...]]) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "UPDATE sms SET state=%s, reason=%s, final_at=%s WHERE id=%s AND state='accepted'",
            updates)
        cur.executemany(
            "UPDATE reports SET applied_to=%s WHERE carrier_id=%s AND gateway=%s AND part=%s",
            applied)
