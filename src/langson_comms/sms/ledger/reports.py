"""Delivery reports: storing carriers' reports and applying them to accepted rows.

Also the report timeout (``expire_unreported``): rows whose report never came end
``expired``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from .base import LedgerBase
from .records import DeliveryReport
from .report_rules import _ReportRow, decide_reports


class DeliveryReports(LedgerBase):
    """The delivery-report part of ``SqliteLedger``."""

    def expire_unreported(self, campaign: str, message: str, accepted_before: float,
                          now: float) -> int:
        """Rows accepted before ``accepted_before`` that never got a delivery report end
        ``expired`` (carriers keep reports for a limited time; nothing stays open forever)."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE sms SET state='expired', reason='no delivery report in time',"
                " final_at=? WHERE campaign=? AND message=? AND state='accepted'"
                " AND accepted_at<?",
                (now, campaign, message, accepted_before),
            )
            # kept-aside repeats older than that can no longer be any waiting row's report
            db.execute("DELETE FROM report_echoes WHERE received_at<?", (accepted_before,))
            return cur.rowcount

    # -- delivery reports --------------------------------------------------------------
    #
    # A stored report applies to an accepted row when the carrier id matches, the gateway
    # matches (or the report's gateway is not known: ''), it was not already applied to
    # another row, and it was received at or after the row was first handed to a gateway:
    # a report for an earlier attempt whose answer was lost, or that was in flight when
    # the sender was killed, is for the same message (the carrier de-duplicated it on the
    # idempotency key and answers with the same id).
    _SINCE = "coalesce(s.first_submitted_at, s.created_at)"

    @staticmethod
    def _reported(db: sqlite3.Connection, carrier_ids: Sequence[str]) -> list[str]:
        """Those of ``carrier_ids`` that already have a report (it came before the answer)."""
        found: list[str] = []
        for start in range(0, len(carrier_ids), 500):
            chunk = carrier_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.extend(
                r[0] for r in db.execute(
                    f"SELECT DISTINCT carrier_id FROM reports WHERE carrier_id IN ({marks})", chunk
                )
            )
        return found

    def record_reports(self, reports: Sequence[DeliveryReport], now: float | None = None, *,
                       gateway: str | None = None) -> int:
        """Store delivery reports and apply them; return how many were new.

        ``gateway`` is the gateway the reports came from, for reports that do not name
        one themselves (the receiver knows it from the path, the poller from the gateway
        it asked); without either a report may match a row of any gateway.

        Replay-safe: a report seen twice is ignored ((carrier id, gateway, part) is
        unique), and a final row never changes again.  A stored report that cannot be
        meant for a row now waiting on its id -- it finished another row, or came before
        this row was sent -- is stale (the carrier reused the id): a new report for that
        id replaces it.  A report for an id the ledger does not know yet (it came before
        the submit answer) waits in the table and is applied when the acceptance is
        recorded.
        """
        if not reports:
            return 0
        stamp = time.time() if now is None else now
        values = [(r.carrier_id, r.gateway or gateway or "", r.part, r.parts, str(r.status),
                   r.error, stamp) for r in reports]
        with self._tx() as db:
            before = db.total_changes
            db.executemany(
                "INSERT INTO reports (carrier_id, gateway, part, parts, status, error,"
                " received_at) VALUES (?,?,?,?,?,?,?)"
                " ON CONFLICT (carrier_id, gateway, part) DO UPDATE SET parts=excluded.parts,"
                " status=excluded.status, error=excluded.error,"
                " received_at=excluded.received_at, applied_to=NULL"
                " WHERE EXISTS (SELECT 1 FROM sms s WHERE s.carrier_id=excluded.carrier_id"
                " AND s.state='accepted' AND (excluded.gateway='' OR s.gateway=excluded.gateway)"
                " AND s.id IS NOT reports.applied_to AND (reports.applied_to IS NOT NULL"
                f" OR reports.received_at < {self._SINCE}))",
                values,
            )
            new = db.total_changes - before
            # Kept aside: a report that differs from its stored twin, which already finished
            # a row -- the report of a reused id that came before the submit answer was
            # recorded.  An identical repeat is a replay (or a reused id's report that
            # reads the same: that row then waits, and ends expired after the report
            # timeout).  One copy per content; purged by ``expire_unreported``.
            db.executemany(
                "INSERT INTO report_echoes (carrier_id, gateway, part, parts, status, error,"
                " received_at) SELECT ?1,?2,?3,?4,?5,?6,?7 WHERE EXISTS (SELECT 1 FROM reports"
                " WHERE carrier_id=?1 AND gateway=?2 AND part=?3 AND applied_to IS NOT NULL"
                " AND NOT (status=?5 AND error IS ?6 AND parts IS ?4))"
                " AND NOT EXISTS (SELECT 1 FROM report_echoes WHERE carrier_id=?1 AND"
                " gateway=?2 AND part=?3 AND status=?5 AND error IS ?6 AND parts IS ?4)",
                values,
            )
            if new:
                self._resolve(db, sorted({r.carrier_id for r in reports}), stamp)
        return new

    def _promote_echoes(self, db: sqlite3.Connection, chunk: Sequence[str], marks: str) -> None:
        """A kept-aside report received since an accepted row was sent, whose stored twin
        finished another row, is that row's report (the carrier reused the id)."""
        found = db.execute(
            f"SELECT e.rowid, e.parts, e.status, e.error, e.received_at, e.carrier_id,"
            f" e.gateway, e.part FROM sms s JOIN report_echoes e ON e.carrier_id = s.carrier_id"
            f" JOIN reports r ON r.carrier_id = e.carrier_id AND r.gateway = e.gateway"
            f" AND r.part = e.part WHERE s.carrier_id IN ({marks}) AND s.state='accepted'"
            f" AND (e.gateway = '' OR e.gateway = s.gateway) AND r.applied_to IS NOT NULL"
            f" AND r.applied_to != s.id AND e.received_at >= {self._SINCE}"
            f" ORDER BY e.received_at",
            chunk,
        ).fetchall()
        if found:
            db.executemany(
                "UPDATE reports SET parts=?, status=?, error=?, received_at=?, applied_to=NULL"
                " WHERE carrier_id=? AND gateway=? AND part=?", [f[1:] for f in found])
            db.executemany("DELETE FROM report_echoes WHERE rowid=?", [f[:1] for f in found])

    def _resolve(self, db: sqlite3.Connection, carrier_ids: Sequence[str], now: float) -> None:
        for start in range(0, len(carrier_ids), 500):
            chunk = carrier_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            self._promote_echoes(db, chunk, marks)
            rows = [_ReportRow._make(r) for r in db.execute(
                f"SELECT s.id, s.segments, r.carrier_id, r.gateway, r.part, r.parts, r.status,"
                f" r.error FROM sms s JOIN reports r ON r.carrier_id = s.carrier_id"
                f" WHERE s.carrier_id IN ({marks}) AND s.state='accepted'"
                f" AND (r.gateway = '' OR r.gateway = s.gateway)"
                f" AND (r.applied_to IS NULL OR r.applied_to = s.id)"
                f" AND r.received_at >= {self._SINCE}",
                chunk,
            )]
            updates, applied = decide_reports(rows, now)
            if updates:
                db.executemany(
                    "UPDATE sms SET state=?, reason=?, final_at=? WHERE id=? AND state='accepted'",
                    updates,
                )
                db.executemany(
                    "UPDATE reports SET applied_to=? WHERE carrier_id=? AND gateway=? AND part=?",
                    applied,
                )
