"""Reading the PostgreSQL ledger: counts, rows, reasons, the promotional send history,
and control (pause/cancel) and breaker events -- as ``../reading.py`` and ``../control.py``."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from ....errors import LedgerError
from ..control import summarise_breakers
from ..reading import ledger_row
from ..records import BreakerSummary, LedgerRow, SmsState, sum_refusals
from ..schema import _ROW_COLUMNS
from .base import PgBase, reconnecting


def _where(campaign: str, message: str | None) -> tuple[str, list[Any]]:
    if message is None:
        return "campaign=%s", [campaign]
    return "campaign=%s AND message=%s", [campaign, message]


class PgReading(PgBase):
    """The reading and control part of ``PostgresLedger``."""

    def _stream(self, sql: str, args: list[Any]) -> Iterator[tuple[Any, ...]]:
        """Rows of a large query, 10,000 at a time (a server-side cursor holding one pooled
        connection while the caller iterates), not all in memory at once."""
        with self._read() as db, db.cursor(name="langson_stream") as cur:
            cur.itersize = 10_000
            cur.execute(sql, args)
            yield from cur

    @reconnecting()
    def counts(self, campaign: str, message: str | None = None) -> dict[str, int]:
        """Rows per state (every state present, zero when none)."""
        where, args = _where(campaign, message)
        with self._read() as db:
            found = dict(db.execute(f"SELECT state, count(*) FROM sms WHERE {where}"
                                    " GROUP BY state", args).fetchall())
        return {str(s): int(found.get(str(s), 0)) for s in SmsState}

    def rows(self, campaign: str, message: str | None = None) -> Iterator[LedgerRow]:
        where, args = _where(campaign, message)
        for r in self._stream(f"SELECT {_ROW_COLUMNS} FROM sms WHERE {where} ORDER BY id",
                              args):
            yield ledger_row(r)

    def delivered_by_day(self, campaign: str, utc_offset_hours: int = 7) -> dict[tuple[str, str], int]:
        """Delivered messages per (local day ``YYYY-MM-DD``, message) at UTC+``utc_offset_hours``."""
        with self._read() as db:
            rows = db.execute(
                "SELECT to_char(to_timestamp(final_at + %s) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                " message, count(*) FROM sms WHERE campaign=%s AND state='delivered'"
                " AND final_at IS NOT NULL GROUP BY 1, 2",
                (utc_offset_hours * 3600, campaign)).fetchall()
        return {(str(d), str(m)): int(n) for d, m, n in rows}

    def numbers_after(self, campaign: str, after_id: int) -> Iterator[tuple[int, str]]:
        """``(row id, msisdn)`` of ``campaign``'s rows with an id above ``after_id``, in id
        order (never logged)."""
        for row_id, msisdn in self._stream("SELECT id, msisdn FROM sms WHERE id > %s AND"
                                           " campaign = %s ORDER BY id", [after_id, campaign]):
            yield int(row_id), str(msisdn)

    def routes_summary(self, campaign: str, message: str) -> dict[str, Any]:
        """Which route took the rows (as ``../reading.py``): ``by_gateway``, ``fallbacks``,
        ``rerouted``."""
        by_gateway: dict[str, dict[str, int]] = {}
        with self._read() as db:
            for gid, state, n in db.execute(
                    "SELECT gateway, state, count(*) FROM sms WHERE campaign=%s AND message=%s"
                    " AND gateway IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2", (campaign, message)):
                by_gateway.setdefault(str(gid), {})[str(state)] = int(n)
            fallbacks, rerouted = sum_refusals(db.execute(
                "SELECT routes_tried, state, count(*) FROM sms WHERE campaign=%s AND"
                " message=%s AND routes_tried IS NOT NULL GROUP BY 1, 2", (campaign, message)))
        return {"by_gateway": by_gateway, "fallbacks": fallbacks, "rerouted": rerouted}

    def delivered_times(self, ids: Sequence[int]) -> dict[int, float]:
        """``final_at`` of the rows among ``ids`` that are delivered."""
        with self._read() as db:
            return {int(i): float(t) for i, t in db.execute(
                "SELECT id, final_at FROM sms WHERE id = ANY(%s) AND state = 'delivered'"
                " AND final_at IS NOT NULL", (list(ids),))}

    def messages(self, campaign: str) -> list[str]:
        with self._read() as db:
            return [r[0] for r in db.execute(
                "SELECT DISTINCT message FROM sms WHERE campaign=%s ORDER BY message",
                (campaign,))]

    def failure_reasons(self, campaign: str, message: str | None = None) -> dict[str, int]:
        where, args = _where(campaign, message)
        with self._read() as db:
            return dict(db.execute(
                f"SELECT coalesce(reason, '?'), count(*) FROM sms WHERE {where} AND state IN"
                " ('failed', 'expired', 'cancelled', 'suppressed') GROUP BY 1 ORDER BY 2 DESC",
                args).fetchall())

    def suppressed_by_policy(self, campaign: str, message: str | None = None) -> dict[str, int]:
        """Suppressed rows per policy name (a suppression's reason starts ``<policy>:``)."""
        where, args = _where(campaign, message)
        with self._read() as db:
            return dict(db.execute(
                "SELECT CASE WHEN strpos(reason, ':') > 0 THEN substr(reason, 1,"
                " strpos(reason, ':') - 1) ELSE coalesce(reason, '?') END, count(*) FROM sms"
                f" WHERE {where} AND state='suppressed' GROUP BY 1 ORDER BY 1", args).fetchall())

    # -- send history (for the 3-per-24h policy) ----------------------------------------

    def count_promotional(self, msisdn: str, since: float) -> int:
        with self._read() as db:
            row = db.execute("SELECT count(*) FROM sms WHERE msisdn=%s AND promotional"
                             " AND accepted_at>=%s", (msisdn, since)).fetchone()
        return int(row[0]) if row else 0

    def promotional_times(self, msisdn: str, since: float) -> list[float]:
        """Acceptance times (epoch seconds, ascending) of promotional SMS to ``msisdn``."""
        with self._read() as db:
            return [float(r[0]) for r in db.execute(
                "SELECT accepted_at FROM sms WHERE msisdn=%s AND promotional"
                " AND accepted_at>=%s ORDER BY accepted_at", (msisdn, since))]

    def promotional_times_many(
        self, msisdns: Sequence[str], since: float
    ) -> dict[str, list[float]]:
        """``promotional_times`` for many numbers in one query (numbers with none absent)."""
        found: dict[str, list[float]] = {}
        if not msisdns:
            return found
        with self._read() as db:
            for msisdn, at in db.execute(
                "SELECT msisdn, accepted_at FROM sms WHERE msisdn = ANY(%s) AND promotional"
                " AND accepted_at>=%s ORDER BY accepted_at", (list(msisdns), since)):
                found.setdefault(msisdn, []).append(float(at))
        return found

    # -- control (pause/cancel from another process) ------------------------------------

    @reconnecting()
    def set_control(self, campaign: str, message: str, state: str) -> None:
        if state not in ("running", "paused", "cancelled"):
            raise LedgerError(f"unknown control state {state!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO control (campaign, message, state, updated_at) VALUES"
                " (%s,%s,%s,%s) ON CONFLICT (campaign, message) DO UPDATE SET"
                " state=excluded.state, updated_at=excluded.updated_at",
                (campaign, message, state, time.time()))

    @reconnecting()
    def control(self, campaign: str, message: str) -> str:
        with self._read() as db:
            row = db.execute("SELECT state FROM control WHERE campaign=%s AND message=%s",
                             (campaign, message)).fetchone()
        return "running" if row is None else str(row[0])

    # -- circuit breaker events (``sms status``) ---------------------------------------

    @reconnecting()
    def record_breaker_event(self, campaign: str, message: str, gateway: str, kind: str,
                             reason: str, open_seconds: float, at: float) -> None:
        """Store one open (``open``/``reopen``) or ``close`` of a gateway's breaker."""
        with self._tx() as db:
            db.execute("INSERT INTO breaker_events (campaign, message, gateway, at, kind,"
                       " reason, open_seconds) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                       (campaign, message, gateway, at, kind, reason, open_seconds))

    def breaker_summary(self, campaign: str, message: str) -> dict[str, BreakerSummary]:
        """Per gateway: how often its breaker opened, the last open and close, and how
        long it stayed open in all."""
        with self._read() as db:
            return summarise_breakers(db.execute(
                "SELECT gateway, at, kind, reason, open_seconds FROM breaker_events"
                " WHERE campaign=%s AND message=%s ORDER BY at, id",
                (campaign, message)).fetchall())
