"""Reading the ledger: counts, rows, reasons, and the promotional send history per number."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pendulum

from ...clock import LOCAL_TZ
from .base import LedgerBase
from .records import LedgerRow, SmsState, _dt, sum_refusals
from .schema import _ROW_COLUMNS

_EPOCH = dt.date(1970, 1, 1)


def ledger_row(r: Sequence[Any]) -> LedgerRow:
    """A ``LedgerRow`` from one row of ``SELECT {_ROW_COLUMNS}`` (both ledgers read rows so)."""
    return LedgerRow(
        id=r[0], campaign=r[1], message=r[2], msisdn=r[3], carrier_hint=r[4],
        state=SmsState(r[5]), attempts=r[6], gateway=r[7], carrier_id=r[8],
        segments=r[9], reason=r[10], idempotency_key=r[11], source=r[12],
        created_at=pendulum.from_timestamp(r[13], tz=LOCAL_TZ),
        submitted_at=_dt(r[14]), accepted_at=_dt(r[15]), final_at=_dt(r[16]),
        routes_tried=r[17],
    )


class Reading(LedgerBase):
    """The reading part of ``SqliteLedger``."""

    # -- reading -----------------------------------------------------------------------

    def counts(self, campaign: str, message: str | None = None) -> dict[str, int]:
        """Rows per state (every state present, zero when none)."""
        sql = "SELECT state, count(*) FROM sms WHERE campaign=?"
        args: list[Any] = [campaign]
        if message is not None:
            sql += " AND message=?"
            args.append(message)
        found = dict(self._db.execute(sql + " GROUP BY state", args).fetchall())
        return {str(s): int(found.get(str(s), 0)) for s in SmsState}

    def rows(self, campaign: str, message: str | None = None) -> Iterator[LedgerRow]:
        sql = f"SELECT {_ROW_COLUMNS} FROM sms WHERE campaign=?"
        args: list[Any] = [campaign]
        if message is not None:
            sql += " AND message=?"
            args.append(message)
        for r in self._db.execute(sql + " ORDER BY id", args):
            yield ledger_row(r)

    def delivered_by_day(self, campaign: str, utc_offset_hours: int = 7) -> dict[tuple[str, str], int]:
        """Delivered messages per (local day ``YYYY-MM-DD``, message), the day taken from the
        final delivery report at UTC+``utc_offset_hours`` (Việt Nam has no daylight saving).

        Read from the ``sms_delivered`` index alone: per message its first and last
        delivery, then one range count per local day between them (a day costs a seek;
        no date is computed per row)."""
        offset = utc_offset_hours * 3600
        found: dict[tuple[str, str], int] = {}
        where = "campaign=? AND message=? AND state='delivered'"
        message = ""
        while True:
            row = self._db.execute(
                "SELECT message FROM sms WHERE campaign=? AND message>? AND state='delivered'"
                " ORDER BY message LIMIT 1", (campaign, message)).fetchone()
            if row is None:
                return found
            message = str(row[0])
            first, last = self._db.execute(
                f"SELECT min(final_at), max(final_at) FROM sms WHERE {where} AND final_at IS NOT NULL",
                (campaign, message)).fetchone()
            if first is None:
                continue
            day = int((first + offset) // 86400)
            while day * 86400 - offset <= last:
                start = day * 86400 - offset
                (count,) = self._db.execute(
                    f"SELECT count(*) FROM sms WHERE {where} AND final_at >= ? AND final_at < ?",
                    (campaign, message, start, start + 86400)).fetchone()
                if count:
                    text = (_EPOCH + dt.timedelta(days=day)).isoformat()
                    found[(text, message)] = int(count)
                day += 1

    def numbers_after(self, campaign: str, after_id: int) -> Iterator[tuple[int, str]]:
        """``(row id, msisdn)`` of ``campaign``'s rows with an id above ``after_id``, in id
        order (for keyed phone hashes kept by the KPI layer; never logged)."""
        yield from self._db.execute(
            # +campaign: read forward from the row id, not through the (campaign, ...) index
            "SELECT id, msisdn FROM sms WHERE id > ? AND +campaign = ? ORDER BY id", (after_id, campaign))

    def delivered_times(self, ids: Sequence[int]) -> dict[int, float]:
        """``final_at`` of the rows among ``ids`` that are delivered."""
        found: dict[int, float] = {}
        for first in range(0, len(ids), 500):
            chunk = list(ids[first:first + 500])
            marks = ",".join("?" * len(chunk))
            found.update(self._db.execute(
                f"SELECT id, final_at FROM sms WHERE id IN ({marks}) AND state = 'delivered'"
                " AND final_at IS NOT NULL", chunk).fetchall())
        return found

    def messages(self, campaign: str) -> list[str]:
        return [r[0] for r in self._db.execute(
            "SELECT DISTINCT message FROM sms WHERE campaign=? ORDER BY message", (campaign,))]

    def failure_reasons(self, campaign: str, message: str | None = None) -> dict[str, int]:
        sql = "SELECT coalesce(reason, '?'), count(*) FROM sms WHERE campaign=? AND state IN" \
              " ('failed', 'expired', 'cancelled', 'suppressed')"
        args: list[Any] = [campaign]
        if message is not None:
            sql += " AND message=?"
            args.append(message)
        return dict(self._db.execute(sql + " GROUP BY 1 ORDER BY 2 DESC", args).fetchall())

    def routes_summary(self, campaign: str, message: str) -> dict[str, Any]:
        """Which route took the rows: ``by_gateway`` (gateway → state → rows, for rows a
        gateway has answered for), ``fallbacks`` (``"gid:reason"`` → rows that gateway
        sent on to their next route) and ``rerouted`` (rows with a refusal, by state)."""
        by_gateway: dict[str, dict[str, int]] = {}
        for gid, state, n in self._db.execute(
                "SELECT gateway, state, count(*) FROM sms WHERE campaign=? AND message=? AND"
                " gateway IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2", (campaign, message)):
            by_gateway.setdefault(gid, {})[state] = n
        fallbacks, rerouted = sum_refusals(self._db.execute(
            "SELECT routes_tried, state, count(*) FROM sms WHERE campaign=? AND message=?"
            " AND routes_tried IS NOT NULL GROUP BY 1, 2", (campaign, message)))
        return {"by_gateway": by_gateway, "fallbacks": fallbacks, "rerouted": rerouted}

    def suppressed_by_policy(self, campaign: str, message: str | None = None) -> dict[str, int]:
        """Suppressed rows per policy name (a suppression's reason starts ``<policy>:``)."""
        sql = ("SELECT CASE WHEN instr(reason, ':') > 0 THEN substr(reason, 1,"
               " instr(reason, ':') - 1) ELSE coalesce(reason, '?') END, count(*) FROM sms"
               " WHERE campaign=? AND state='suppressed'")
        args: list[Any] = [campaign]
        if message is not None:
            sql += " AND message=?"
            args.append(message)
        return dict(self._db.execute(sql + " GROUP BY 1 ORDER BY 1", args).fetchall())

    # -- send history (for the 3-per-24h policy) ----------------------------------------

    def count_promotional(self, msisdn: str, since: float) -> int:
        row = self._db.execute(
            "SELECT count(*) FROM sms WHERE msisdn=? AND promotional=1 AND accepted_at>=?",
            (msisdn, since),
        ).fetchone()
        return int(row[0])

    def promotional_times(self, msisdn: str, since: float) -> list[float]:
        """Acceptance times (epoch seconds, ascending) of promotional SMS to ``msisdn``."""
        return [r[0] for r in self._db.execute(
            "SELECT accepted_at FROM sms WHERE msisdn=? AND promotional=1 AND accepted_at>=?"
            " ORDER BY accepted_at", (msisdn, since))]

    def promotional_times_many(
        self, msisdns: Sequence[str], since: float
    ) -> dict[str, list[float]]:
        """``promotional_times`` for many numbers in one query per 500 (numbers with none
        are absent)."""
        found: dict[str, list[float]] = {}
        for start in range(0, len(msisdns), 500):
            chunk = msisdns[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for msisdn, at in self._db.execute(
                f"SELECT msisdn, accepted_at FROM sms WHERE msisdn IN ({marks})"
                f" AND promotional=1 AND accepted_at>=? ORDER BY accepted_at", [*chunk, since]
            ):
                found.setdefault(msisdn, []).append(at)
        return found
