"""Sending state: loading recipients, claiming due rows, recording what happened to them.

``SendingState`` builds on ``DeliveryReports``: recording an acceptance applies the
reports that came before it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from ...errors import LedgerError
from .records import FINAL_STATES, QueuedSms, Recipient, Result, SmsState, idempotency_key
from .reports import DeliveryReports

#: appends a result's ``tried`` ("gid:reason") to the row's ``routes_tried`` (given twice)
_TRIED = ("routes_tried=CASE WHEN ? IS NULL THEN routes_tried ELSE"
          " coalesce(routes_tried || ',', '') || ? END")


class SendingState(DeliveryReports):
    """The loading and sending part of ``SqliteLedger``."""

    # -- loading -----------------------------------------------------------------------

    def enqueue(
        self,
        campaign: str,
        message: str,
        recipients: Iterable[Recipient],
        *,
        promotional: bool,
        now: float | None = None,
        chunk: int = 5000,
    ) -> tuple[int, int]:
        """Add one queued row per new recipient; return (added, already present).

        Loading the same audience twice adds nothing: (campaign, message, msisdn) is unique.
        """
        stamp = time.time() if now is None else now
        added = seen = 0
        batch: list[tuple[Any, ...]] = []
        promo = 1 if promotional else 0

        def flush() -> int:
            with self._tx() as db:
                before = db.total_changes
                db.executemany(
                    "INSERT OR IGNORE INTO sms (campaign, message, msisdn, carrier_hint, fields,"
                    " source, promotional, idem_key, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    batch,
                )
                return db.total_changes - before

        for r in recipients:
            fields = json.dumps(dict(r.fields), ensure_ascii=False) if r.fields else None
            batch.append(
                (campaign, message, r.msisdn, r.carrier_hint, fields, r.source, promo,
                 idempotency_key(campaign, message, r.msisdn), stamp)
            )
            seen += 1
            if len(batch) >= chunk:
                added += flush()
                batch.clear()
        if batch:
            added += flush()
        self._protect_sidecars()
        return added, seen - added

    # -- sending -----------------------------------------------------------------------

    def recover_in_flight(self, campaign: str, message: str) -> int:
        """Put rows left ``submitted`` by a crashed sender back to ``queued``; return how many."""
        with self._tx() as db:
            self._fence(db, (campaign, message))
            cur = db.execute(
                "UPDATE sms SET state='queued', next_at=0 WHERE campaign=? AND message=?"
                " AND state='submitted'",
                (campaign, message),
            )
            return cur.rowcount

    def claim(self, campaign: str, message: str, now: float, limit: int) -> list[QueuedSms]:
        """Mark up to ``limit`` due queued rows ``submitted`` and return them, oldest first."""
        with self._tx() as db:
            self._fence(db, (campaign, message))
            rows = db.execute(
                "UPDATE sms SET state='submitted', submitted_at=?1,"
                " first_submitted_at=coalesce(first_submitted_at, ?1) WHERE id IN ("
                " SELECT id FROM sms WHERE campaign=?2 AND message=?3 AND state='queued'"
                " AND next_at<=?1 ORDER BY next_at, id LIMIT ?4)"
                " RETURNING id, msisdn, carrier_hint, fields, attempts, idem_key, routes_tried",
                (now, campaign, message, limit),
            ).fetchall()
        rows.sort()
        make, loads = QueuedSms._make, json.loads
        return [make(r) if r[3] is None else
                QueuedSms(r[0], r[1], r[2], loads(r[3]) if r[3] else None, r[4], r[5], r[6])
                for r in rows]

    def record(self, results: Sequence[Result], now: float) -> None:
        """Record what happened to claimed rows, in one transaction."""
        if not results:
            return
        accepted: list[tuple[Any, ...]] = []
        requeued: list[tuple[Any, ...]] = []
        final: list[tuple[Any, ...]] = []
        for r in results:
            inc = 1 if r.attempted else 0
            if r.state is SmsState.ACCEPTED:
                accepted.append((inc, r.gateway, r.carrier_id, r.segments, now, r.reason, r.id))
            elif r.state is SmsState.QUEUED:
                requeued.append((inc, r.gateway, r.reason, r.next_at, r.tried, r.tried, r.id))
            else:
                final.append((str(r.state), inc, r.gateway, r.segments, r.reason, now, r.tried,
                              r.tried, r.id))
        with self._tx() as db:
            self._fence(db, *self._held)
            if accepted:
                db.executemany(
                    "UPDATE sms SET state='accepted', attempts=attempts+?, gateway=?, carrier_id=?,"
                    " segments=?, accepted_at=?, reason=? WHERE id=? AND state='submitted'",
                    accepted,
                )
                ids = [row[2] for row in accepted if row[2] is not None]
                early = self._reported(db, ids)
                if early:
                    self._resolve(db, early, now)
            if requeued:
                db.executemany(
                    "UPDATE sms SET state='queued', attempts=attempts+?, gateway=coalesce(?, gateway),"
                    f" reason=?, next_at=?, {_TRIED} WHERE id=? AND state='submitted'",
                    requeued,
                )
            if final:
                db.executemany(
                    "UPDATE sms SET state=?, attempts=attempts+?, gateway=coalesce(?, gateway),"
                    f" segments=coalesce(?, segments), reason=?, final_at=?, {_TRIED} WHERE id=?"
                    " AND state IN ('submitted', 'queued')",
                    final,
                )

    def next_due(self, campaign: str, message: str) -> float | None:
        """The earliest ``next_at`` of a queued row, or None when nothing is queued."""
        row = self._db.execute(
            "SELECT min(next_at) FROM sms WHERE campaign=? AND message=? AND state='queued'",
            (campaign, message),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def finish_queued(
        self, campaign: str, message: str, state: SmsState, reason: str, now: float
    ) -> int:
        """Move every queued row to a final ``state`` (expired, cancelled) with ``reason``."""
        if state not in FINAL_STATES:
            raise LedgerError(f"{state} is not a final state")
        with self._tx() as db:
            cur = db.execute(
                "UPDATE sms SET state=?, reason=?, final_at=? WHERE campaign=? AND message=?"
                " AND state='queued'",
                (str(state), reason, now, campaign, message),
            )
            return cur.rowcount
