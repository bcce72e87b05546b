"""Sending state on PostgreSQL: loading (COPY), claiming (``FOR UPDATE SKIP LOCKED``) and
recording outcomes (one multi-row ``UPDATE … FROM unnest(…)`` per kind of outcome).

The same state machine as the SQLite ledger's ``sending.py``; ``PgSending`` builds on
``PgReports`` (recording an acceptance applies the reports that came before it) and on
``PgSenders`` (several senders share a message: claims stamp the sender, outcomes are
fenced on that stamp, rows of dead senders come back after their lease).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ....errors import LedgerError
from ..records import FINAL_STATES, QueuedSms, Recipient, Result, SmsState, idempotency_key
from .base import Conn, reconnecting
from .reports import PgReports
from .senders import NOW, PgSenders

_LOAD_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS sms_load (ord INTEGER, msisdn TEXT, carrier_hint TEXT,"
    " fields TEXT, source TEXT, idem_key TEXT) ON COMMIT DELETE ROWS"
)

# New rows only (a number already loaded, or twice in one chunk, is left out before the
# insert, so the ids stay dense and in input order); ON CONFLICT covers a concurrent load.
_INSERT_LOADED = (
    "INSERT INTO sms (campaign, message, msisdn, carrier_hint, fields, source, promotional,"
    " idem_key, created_at) SELECT %(c)s, %(m)s, l.msisdn, l.carrier_hint, l.fields, l.source,"
    " %(promo)s, l.idem_key, %(now)s FROM (SELECT DISTINCT ON (msisdn) * FROM sms_load"
    " ORDER BY msisdn, ord) l WHERE NOT EXISTS (SELECT 1 FROM sms s WHERE s.campaign=%(c)s"
    " AND s.message=%(m)s AND s.msisdn=l.msisdn) ORDER BY l.ord ON CONFLICT DO NOTHING"
)

#: appends an outcome's ``tried`` ("gid:reason") to the row's ``routes_tried``
_TRIED = ("routes_tried=CASE WHEN v.tried IS NULL THEN s.routes_tried"
          " ELSE coalesce(s.routes_tried || ',', '') || v.tried END")


class PgSending(PgReports, PgSenders):
    """The loading and sending part of ``PostgresLedger``."""

    # -- loading -----------------------------------------------------------------------

    def enqueue(
        self,
        campaign: str,
        message: str,
        recipients: Iterable[Recipient],
        *,
        promotional: bool,
        now: float | None = None,
        chunk: int = 50_000,
    ) -> tuple[int, int]:
        """Add one queued row per new recipient; return (added, already present).

        Each chunk is copied (``COPY``) into a temporary table and inserted from there in
        one statement and one transaction; loading the same audience twice adds nothing.
        The insert of a chunk runs (in a worker thread, on its own connection) while the
        next chunk is built and copied: the loader and the server work at the same time.
        Chunks are inserted one after the other, in order."""
        stamp = time.time() if now is None else now
        args = {"c": campaign, "m": message, "promo": promotional, "now": stamp}
        rows = iter(recipients)
        added = seen = 0
        pending: Future[int] | None = None

        def insert(tx: contextlib.ExitStack, db: Conn) -> int:
            with tx:  # commits (or rolls back) and gives the connection back to the pool
                return int(db.execute(_INSERT_LOADED, args).rowcount)

        # the executor's exit waits for a pending insert, also when an error goes up
        with ThreadPoolExecutor(1, thread_name_prefix="ledger-load") as inserts:
            while True:
                with contextlib.ExitStack() as tx:
                    db = tx.enter_context(self._tx())
                    n = self._copy_chunk(db, itertools.islice(rows, chunk), campaign, message)
                    if pending is not None:
                        added += pending.result()
                        pending = None
                    if n:  # the transaction goes to the worker, which ends it
                        pending = inserts.submit(insert, tx.pop_all(), db)
                seen += n
                if n < chunk:
                    break
            if pending is not None:
                added += pending.result()
        return added, seen - added

    @staticmethod
    def _copy_chunk(db: Conn, chunk: Iterable[Recipient], campaign: str, message: str) -> int:
        """Copy ``chunk`` into the (emptied at commit) temporary table; return its size.
        Rows go out while the next ones are built: the server reads as we write."""
        db.execute(_LOAD_TABLE)
        n = 0
        with db.cursor().copy("COPY sms_load (ord, msisdn, carrier_hint, fields, source,"
                              " idem_key) FROM STDIN") as copy:
            for r in chunk:
                fields = json.dumps(dict(r.fields), ensure_ascii=False) if r.fields else None
                copy.write_row((n, r.msisdn, r.carrier_hint, fields, r.source,
                                idempotency_key(campaign, message, r.msisdn)))
                n += 1
        return n

    # -- sending -----------------------------------------------------------------------

    @reconnecting()
    def recover_in_flight(self, campaign: str, message: str) -> int:
        """Put rows left ``submitted`` by a crashed sender back to ``queued``; return how many.

        Only rows no live sender holds: those of senders whose registration expired (or
        without one) and whose lease has passed; live senders keep theirs."""
        with self._tx() as db:
            self._fence(db, (campaign, message))
            return self._recover_dead(db, campaign, message)

    @reconnecting(in_doubt_too=False)
    def claim(self, campaign: str, message: str, now: float, limit: int) -> list[QueuedSms]:
        """Mark up to ``limit`` due queued rows ``submitted`` and return them, oldest first.

        Rows another sender is claiming at the same moment are skipped (``SKIP LOCKED``),
        not waited for: two senders never get the same row.
        Each row is stamped with this store's sender (``claimed_by``) and a lease expiry
        (``lease_until``, server time); once a second a claim first takes back the rows
        of dead senders whose lease has passed (``PgSenders``)."""
        with self._tx() as db:
            self._fence(db, (campaign, message))
            if self._recovery_due(campaign, message):
                self._recover_dead(db, campaign, message, lease_less=False)
            rows = db.execute(
                "WITH picked AS (SELECT id FROM sms WHERE campaign=%(c)s AND message=%(m)s"
                " AND state='queued' AND next_at<=%(now)s ORDER BY next_at, id LIMIT %(n)s"
                " FOR UPDATE SKIP LOCKED)"
                " UPDATE sms s SET state='submitted', submitted_at=%(now)s,"
                " first_submitted_at=coalesce(s.first_submitted_at, %(now)s),"
                f" claimed_by=%(by)s, lease_until={NOW} + %(ttl)s FROM picked"
                " WHERE s.id=picked.id"
                " RETURNING s.id, s.msisdn, s.carrier_hint, s.fields, s.attempts, s.idem_key,"
                " s.routes_tried",
                {"c": campaign, "m": message, "now": now, "n": limit,
                 "by": self._token(campaign, message),
                 "ttl": self._lease_ttl(campaign, message)}).fetchall()
        rows.sort()
        loads = json.loads
        return [QueuedSms(r[0], r[1], r[2], loads(r[3]) if r[3] else None, r[4], r[5], r[6])
                for r in rows]

    @reconnecting()
    def record(self, results: Sequence[Result], now: float) -> None:
        """Record what happened to claimed rows, in one transaction (one statement per
        kind of outcome, whatever the batch's size)."""
        if not results:
            return
        accepted: list[Result] = []
        requeued: list[Result] = []
        final: list[Result] = []
        for r in results:
            if r.state is SmsState.ACCEPTED:
                accepted.append(r)
            elif r.state is SmsState.QUEUED:
                requeued.append(r)
            else:
                final.append(r)
        # only rows still stamped with this store's sender (or claimed without a lease):
        # a row taken back from a stalled sender and claimed again is not overwritten
        mine = [*(self._held.values()), ""]
        with self._tx() as db:
            self._fence(db, *self._held_keys())
            if accepted:
                ids = [r.carrier_id for r in accepted if r.carrier_id is not None]
                self._lock_reports(db, ids)
                db.execute(
                    "UPDATE sms s SET state='accepted', attempts=s.attempts+v.inc,"
                    " gateway=v.gateway, carrier_id=v.carrier_id, segments=v.segments,"
                    " accepted_at=%s, reason=v.reason FROM unnest(%s::bigint[], %s::int[],"
                    " %s::text[], %s::text[], %s::int[], %s::text[])"
                    " AS v(id, inc, gateway, carrier_id, segments, reason)"
                    " WHERE s.id=v.id AND s.state='submitted'"
                    " AND coalesce(s.claimed_by, '')=ANY(%s)",
                    (now, [r.id for r in accepted], [int(r.attempted) for r in accepted],
                     [r.gateway for r in accepted], [r.carrier_id for r in accepted],
                     [r.segments for r in accepted], [r.reason for r in accepted], mine))
                early = self._reported(db, ids)
                if early:
                    self._resolve(db, early, now)
            if requeued:
                db.execute(
                    "UPDATE sms s SET state='queued', attempts=s.attempts+v.inc,"
                    " gateway=coalesce(v.gateway, s.gateway), reason=v.reason,"
                    f" next_at=v.next_at, {_TRIED} FROM unnest(%s::bigint[], %s::int[],"
                    " %s::text[], %s::text[], %s::float8[], %s::text[])"
                    " AS v(id, inc, gateway, reason, next_at, tried)"
                    " WHERE s.id=v.id AND s.state='submitted'"
                    " AND coalesce(s.claimed_by, '')=ANY(%s)",
                    ([r.id for r in requeued], [int(r.attempted) for r in requeued],
                     [r.gateway for r in requeued], [r.reason for r in requeued],
                     [float(r.next_at) for r in requeued], [r.tried for r in requeued], mine))
            if final:
                db.execute(
                    "UPDATE sms s SET state=v.state, attempts=s.attempts+v.inc,"
                    " gateway=coalesce(v.gateway, s.gateway),"
                    " segments=coalesce(v.segments, s.segments), reason=v.reason,"
                    f" final_at=%s, {_TRIED} FROM unnest(%s::bigint[], %s::text[], %s::int[],"
                    " %s::text[], %s::int[], %s::text[], %s::text[])"
                    " AS v(id, state, inc, gateway, segments, reason, tried)"
                    " WHERE s.id=v.id AND (s.state='queued' OR (s.state='submitted'"
                    " AND coalesce(s.claimed_by, '')=ANY(%s)))",
                    (now, [r.id for r in final], [str(r.state) for r in final],
                     [int(r.attempted) for r in final], [r.gateway for r in final],
                     [r.segments for r in final], [r.reason for r in final],
                     [r.tried for r in final], mine))

    @reconnecting()
    def next_due(self, campaign: str, message: str) -> float | None:
        """The earliest ``next_at`` of a queued row, or None when nothing is queued.

        Rows other senders hold (``submitted``) count too, due when their sender's
        registration or their lease runs out, whichever is later: a sender with nothing
        left to claim waits for them (a dead sender's rows come back to it) instead of
        ending while they are in flight."""
        with self._read() as db:
            row = db.execute(
                "SELECT least((SELECT min(next_at) FROM sms WHERE campaign=%(c)s"
                " AND message=%(m)s AND state='queued'),"
                " (SELECT min(greatest(coalesce(s.lease_until, 0), coalesce(x.expires_at, 0)))"
                " FROM sms s LEFT JOIN senders x ON x.token=s.claimed_by"
                " WHERE s.campaign=%(c)s AND s.message=%(m)s AND s.state='submitted'"
                " AND s.claimed_by IS DISTINCT FROM %(me)s))",
                {"c": campaign, "m": message, "me": self._token(campaign, message)}).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    @reconnecting()
    def finish_queued(
        self, campaign: str, message: str, state: SmsState, reason: str, now: float
    ) -> int:
        """Move every queued row to a final ``state`` (expired, cancelled) with ``reason``."""
        if state not in FINAL_STATES:
            raise LedgerError(f"{state} is not a final state")
        with self._tx() as db:
            return db.execute(
                "UPDATE sms SET state=%s, reason=%s, final_at=%s WHERE campaign=%s"
                " AND message=%s AND state='queued'",
                (str(state), reason, now, campaign, message)).rowcount
