"""The SMS ledger: one durable row per (campaign, message, recipient).

Every recipient loaded for a send gets exactly one row, and the row moves through a
small state machine that only goes forward::

    queued ──► submitted ──► accepted ──► delivered
      ▲  │         │  │          └──────► failed(reason) | expired
      └──┼─────────┘  └─► failed(reason)          (transient error: back to queued)
         └──► expired (send-by deadline) | cancelled | suppressed (a named policy)

``submitted`` means "handed to a gateway, answer not recorded yet".  After a crash those
rows are the only ones that may have reached the carrier without the ledger knowing, so
``recover_in_flight`` puts them back to ``queued`` with their idempotency key unchanged:
a gateway that honours keys turns the resend into a no-op.

``LedgerStore`` is the interface the engine uses; ``SqliteLedger`` is the default
implementation (one file, WAL mode, created readable by its owner only).  It uses the
standard-library ``sqlite3`` synchronously from the event loop on purpose: every call
is one short batched transaction (hundreds of rows), which measured faster than
hopping to a worker thread per call (aiosqlite) — see docs/performance.md.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import attrs
import pendulum

from ..clock import LOCAL_TZ
from ..errors import LedgerError, SenderBusyError
from .broadcast_areas import AreaTotals, excess_over_totals
from .lease import LeaseInfo, LeaseOwner, describe_lease

__all__ = [
    "FINAL_STATES",
    "BreakerSummary",
    "BroadcastOrder",
    "DeliveryReport",
    "LedgerRow",
    "LedgerSendHistory",
    "LedgerStore",
    "QueuedSms",
    "Recipient",
    "ReportStatus",
    "Result",
    "SmsState",
    "SqliteLedger",
    "idempotency_key",
]


class SmsState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"


FINAL_STATES = frozenset(
    {SmsState.DELIVERED, SmsState.FAILED, SmsState.EXPIRED, SmsState.CANCELLED,
     SmsState.SUPPRESSED}
)


class ReportStatus(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


def idempotency_key(campaign: str, message: str, msisdn: str) -> str:
    """A stable key for one (campaign, message, recipient): the same after any reload."""
    digest = hashlib.sha1(f"{campaign}\x1f{message}\x1f{msisdn}".encode(), usedforsecurity=False)
    return digest.hexdigest()[:24]


@attrs.frozen(slots=True)
class Recipient:
    """One recipient to load: E.164 number, carrier hint, template fields, where it came from."""

    msisdn: str
    carrier_hint: str = "unknown"
    fields: Mapping[str, str] | None = None
    source: str | None = None


class QueuedSms(NamedTuple):
    """A row claimed for sending (state ``submitted`` in the ledger).

    A named tuple rather than an attrs class: the engine makes one per row claimed, and
    building a tuple from the query's row costs a fraction of a frozen class's __init__."""

    id: int
    msisdn: str
    carrier_hint: str
    fields: Mapping[str, str] | None
    attempts: int
    idempotency_key: str


class Result(NamedTuple):
    """What happened to one claimed row; the engine records these in batches.

    ``state`` is the new state: ``accepted`` (with ``carrier_id``), ``queued`` (retry at
    ``next_at``, epoch seconds), ``failed``/``expired``/``suppressed``/``cancelled`` (with
    ``reason``).  ``attempted`` says whether a gateway was really called.  A named
    tuple, like ``QueuedSms``: one is made per row and outcome.
    """

    id: int
    state: SmsState
    attempted: bool = True
    gateway: str | None = None
    carrier_id: str | None = None
    segments: int | None = None
    reason: str | None = None
    next_at: float = 0.0


@attrs.frozen(slots=True)
class DeliveryReport:
    """A carrier's final word on (one part of) a message.

    ``part`` is 1-based; ``parts`` the total number of parts when the carrier says so.
    A report for part 1 that gives no total covers the whole message (aggregators such
    as eSMS report once per message id, without part fields).  ``gateway`` is the id
    of the gateway whose carrier sent it (carrier ids are only unique per gateway);
    ``None`` when unknown, and then it may match a row of any gateway.
    """

    carrier_id: str
    status: ReportStatus = attrs.field(converter=ReportStatus)
    part: int = 1
    parts: int | None = None
    error: str | None = None
    gateway: str | None = None


@attrs.frozen
class LedgerRow:
    """A full ledger row, for status, exports and tests."""

    id: int
    campaign: str
    message: str
    msisdn: str
    carrier_hint: str
    state: SmsState
    attempts: int
    gateway: str | None
    carrier_id: str | None
    segments: int | None
    reason: str | None
    idempotency_key: str
    source: str | None
    created_at: pendulum.DateTime
    submitted_at: pendulum.DateTime | None
    accepted_at: pendulum.DateTime | None
    final_at: pendulum.DateTime | None


@attrs.frozen
class BroadcastOrder:
    """A carrier-run broadcast ordered by the province (the carrier holds the list)."""

    campaign: str
    carrier: str
    message: str
    ordered_at: pendulum.DateTime
    reported_at: pendulum.DateTime | None = None
    subscribers: int | None = None
    sent: int | None = None
    delivered: int | None = None
    note: str | None = None
    #: the carrier's breakdown by area, when it gave one (``sms.broadcast_areas``)
    areas: tuple[AreaTotals, ...] = ()


class LedgerStore(Protocol):
    """What the engine needs from a durable store (SQLite now, a server database later).

    The lease methods (``sms.lease.LeaseStore``) may be called from the lease's heartbeat
    thread while the engine uses the store: give them a connection of their own."""

    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo: ...

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool: ...

    def release_lease(self, campaign: str, message: str, owner: str) -> None: ...

    def lease(self, campaign: str, message: str) -> LeaseInfo | None: ...

    def enqueue(
        self, campaign: str, message: str, recipients: Iterable[Recipient], *, promotional: bool,
        now: float,
    ) -> tuple[int, int]: ...

    def recover_in_flight(self, campaign: str, message: str) -> int: ...

    def claim(self, campaign: str, message: str, now: float, limit: int) -> list[QueuedSms]: ...

    def record(self, results: Sequence[Result], now: float) -> None: ...

    def next_due(self, campaign: str, message: str) -> float | None: ...

    def finish_queued(
        self, campaign: str, message: str, state: SmsState, reason: str, now: float
    ) -> int: ...

    def record_reports(self, reports: Sequence[DeliveryReport], now: float, *,
                       gateway: str | None = None) -> int: ...

    def expire_unreported(self, campaign: str, message: str, accepted_before: float,
                          now: float) -> int: ...

    def counts(self, campaign: str, message: str | None = None) -> dict[str, int]: ...

    def set_control(self, campaign: str, message: str, state: str) -> None: ...

    def record_breaker_event(self, campaign: str, message: str, gateway: str, kind: str,
                             reason: str, open_seconds: float, at: float) -> None: ...

    def breaker_summary(self, campaign: str, message: str) -> dict[str, BreakerSummary]: ...

    def control(self, campaign: str, message: str) -> str: ...

    def count_promotional(self, msisdn: str, since: float) -> int: ...

    def promotional_times(self, msisdn: str, since: float) -> list[float]: ...

    def promotional_times_many(
        self, msisdns: Sequence[str], since: float
    ) -> dict[str, list[float]]: ...

    def close(self) -> None: ...


_REPORTS_TABLE = """
-- Delivery reports, keyed per gateway: carrier ids are unique per gateway only.
-- gateway '' = not known (a report from before this column, or from the shared path of
-- several gateways): it may match a row of any gateway.  applied_to = the sms row the
-- report finished, so an old report for a reused id never finishes another row.
CREATE TABLE IF NOT EXISTS reports (
    carrier_id TEXT NOT NULL,
    gateway TEXT NOT NULL DEFAULT '',
    part INTEGER NOT NULL,
    parts INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    received_at REAL NOT NULL,
    applied_to INTEGER,
    PRIMARY KEY (carrier_id, gateway, part)
) WITHOUT ROWID;
"""

# A report that came again after its stored twin finished a row: a replay, or the first
# report for a reused id that came before the submit answer (outcomes are written in
# batches, so reports often do).  Kept aside; it replaces the stale twin when a row sent
# before it came is accepted with this id (see SqliteLedger._promote_echoes).
_ECHOES_TABLE = """
CREATE TABLE IF NOT EXISTS report_echoes (
    carrier_id TEXT NOT NULL,
    gateway TEXT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    received_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS report_echoes_id ON report_echoes (carrier_id);
"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sms (
    id INTEGER PRIMARY KEY,
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    msisdn TEXT NOT NULL,
    carrier_hint TEXT NOT NULL,
    fields TEXT,
    source TEXT,
    promotional INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    gateway TEXT,
    carrier_id TEXT,
    segments INTEGER,
    reason TEXT,
    idem_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    submitted_at REAL,
    first_submitted_at REAL,
    accepted_at REAL,
    final_at REAL,
    UNIQUE (campaign, message, msisdn)
);
-- Only queued rows are indexed for claiming: a row leaves this index once, when claimed.
CREATE INDEX IF NOT EXISTS sms_queued ON sms (campaign, message, next_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS sms_carrier_id ON sms (carrier_id) WHERE carrier_id IS NOT NULL;
-- Send history per number (the 3-per-24h cap); accepted_at is not in the key, so
-- recording an acceptance does not touch this index.
CREATE INDEX IF NOT EXISTS sms_promotional ON sms (msisdn) WHERE promotional = 1;
""" + _REPORTS_TABLE + _ECHOES_TABLE + """CREATE TABLE IF NOT EXISTS control (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (campaign, message)
);
-- One sender per (campaign, message): see sms/lease.py.  owner is the holder's token.
CREATE TABLE IF NOT EXISTS sender_lease (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (campaign, message)
);
CREATE TABLE IF NOT EXISTS broadcast_orders (
    campaign TEXT NOT NULL,
    carrier TEXT NOT NULL,
    message TEXT NOT NULL,
    ordered_at REAL NOT NULL,
    reported_at REAL,
    subscribers INTEGER,
    sent INTEGER,
    delivered INTEGER,
    note TEXT,
    PRIMARY KEY (campaign, carrier, message)
);
-- Every open and close of a gateway's circuit breaker (``sms status`` shows the last).
CREATE TABLE IF NOT EXISTS breaker_events (
    campaign TEXT NOT NULL,
    message TEXT NOT NULL,
    gateway TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    open_seconds REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS breaker_events_by_message ON breaker_events (campaign, message);
-- A carrier's report broken down by area (unit code); replaced whole by each report.
CREATE TABLE IF NOT EXISTS broadcast_areas (
    campaign TEXT NOT NULL,
    carrier TEXT NOT NULL,
    message TEXT NOT NULL,
    area TEXT NOT NULL,
    subscribers INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    delivered INTEGER NOT NULL,
    PRIMARY KEY (campaign, carrier, message, area)
);
"""

_ROW_COLUMNS = (
    "id, campaign, message, msisdn, carrier_hint, state, attempts, gateway, carrier_id, "
    "segments, reason, idem_key, source, created_at, submitted_at, accepted_at, final_at"
)


def _dt(value: float | None) -> pendulum.DateTime | None:
    return None if value is None else pendulum.from_timestamp(value, tz=LOCAL_TZ)


@attrs.frozen
class BreakerSummary:
    """What ``sms status`` says of one gateway's circuit breaker (``breaker_summary``).

    ``is_open``: the last event was an opening (the run may have ended meanwhile)."""

    gateway: str
    opens: int = 0
    failed_probes: int = 0
    last_open: pendulum.DateTime | None = None
    last_open_reason: str | None = None
    last_close: pendulum.DateTime | None = None
    last_open_seconds: float | None = None
    open_seconds: float = 0.0
    is_open: bool = False


class _ReportRow(NamedTuple):
    """An accepted row joined with one stored report that may be its (``_resolve``)."""

    row_id: int
    segments: int | None
    carrier_id: str
    gateway: str
    part: int
    parts: int | None
    status: str
    error: str | None


class SqliteLedger:
    """The default ``LedgerStore``: one SQLite file in WAL mode, owner-only permissions."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        # The lease's own connection (its heartbeat thread renews while the sender writes).
        self._lease_db: sqlite3.Connection | None = None
        self._lease_mutex = threading.Lock()
        #: (campaign, message) -> owner token of the leases taken through this store: its
        #: sending writes check, in their own transaction, that the lease is still theirs
        self._held: dict[tuple[str, str], str] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Create the file ourselves so it is 0600 from the first byte (no umask race).
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            self._refuse_hard_links()
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a committed transaction survives a process crash (kill -9);
            # only an OS crash or power loss can lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._migrate_old_ledgers()
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot open ledger: {exc}") from exc
        self._protect_sidecars()

    def _refuse_hard_links(self) -> None:
        """SQLite keeps the write-ahead log beside the *name* it opened (symlinks are
        resolved, hard links cannot be): a ledger reached through two hard links is two
        ledgers over one file — neither sees the other's recent writes, its sending lease
        included, and both write.  Refused before anything is read or written."""
        links = os.stat(self.path).st_nlink
        if links > 1:
            raise LedgerError(
                f"{self.path}: this ledger file has {links} names (hard links); SQLite keeps "
                "its write-ahead log beside the name it was opened by, so two senders (or a"
                " sender and 'sms status') through different names would not see each other."
                " Remove the extra link (use a symlink instead)")

    def _migrate(self, table: str, column: str, *statements: str) -> None:
        """Run ``statements`` in one transaction if ``table`` has no ``column`` yet (a
        ledger from an earlier version); the check is repeated inside the transaction,
        since another process may have migrated the file meanwhile."""
        def missing() -> bool:
            return column not in {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}

        if not missing():
            return
        with self._tx() as db:
            if missing():
                for statement in statements:
                    db.execute(statement)

    def _migrate_old_ledgers(self) -> None:
        # Reports from before per-gateway keys (keyed on carrier id and part) are kept as
        # gateway '' (not known: may match any gateway); one whose id belongs to a row
        # already final is marked applied to it, so it never finishes a later row that
        # got the same id again.
        self._migrate(
            "reports", "gateway",
            "ALTER TABLE reports RENAME TO reports_v1",
            _REPORTS_TABLE.replace(";", ""),
            "INSERT INTO reports (carrier_id, gateway, part, parts, status, error,"
            " received_at, applied_to) SELECT o.carrier_id, '', o.part, o.parts, o.status,"
            " o.error, o.received_at, (SELECT max(s.id) FROM sms s WHERE"
            " s.carrier_id = o.carrier_id AND s.state IN ('delivered', 'failed', 'expired'))"
            " FROM reports_v1 o",
            "DROP TABLE reports_v1",
        )
        # Rows from before first_submitted_at that were already handed to a gateway get
        # their load time: when they were first sent is not known, and the load time is
        # the widest safe bound (the one those ledgers used).
        self._migrate(
            "sms", "first_submitted_at",
            "ALTER TABLE sms ADD COLUMN first_submitted_at REAL",
            "UPDATE sms SET first_submitted_at = created_at WHERE submitted_at IS NOT NULL",
        )

    def _protect_sidecars(self) -> None:
        for suffix in ("-wal", "-shm"):
            sidecar = self.path.with_name(self.path.name + suffix)
            with contextlib.suppress(OSError):
                os.chmod(sidecar, 0o600)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot start a transaction: {exc}") from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: commit failed: {exc}") from exc

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
                " RETURNING id, msisdn, carrier_hint, fields, attempts, idem_key",
                (now, campaign, message, limit),
            ).fetchall()
        rows.sort()
        make, loads = QueuedSms._make, json.loads
        return [make(r) if r[3] is None else
                QueuedSms(r[0], r[1], r[2], loads(r[3]) if r[3] else None, r[4], r[5])
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
                requeued.append((inc, r.gateway, r.reason, r.next_at, r.id))
            else:
                final.append((str(r.state), inc, r.gateway, r.segments, r.reason, now, r.id))
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
                    " reason=?, next_at=? WHERE id=? AND state='submitted'",
                    requeued,
                )
            if final:
                db.executemany(
                    "UPDATE sms SET state=?, attempts=attempts+?, gateway=coalesce(?, gateway),"
                    " segments=coalesce(?, segments), reason=?, final_at=? WHERE id=?"
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
            # A report whose gateway is not known ('') and that fits rows of several
            # gateways is applied to none of them (it waits for a report naming its
            # gateway); for a part that has a report naming the row's gateway, '' reports
            # are left out (and marked applied with it, so they never go elsewhere).
            fits: dict[tuple[str, int], set[int]] = {}
            named = {(r.row_id, r.part) for r in rows if r.gateway != ""}
            for r in rows:
                if r.gateway == "":
                    fits.setdefault((r.carrier_id, r.part), set()).add(r.row_id)
            by_row: dict[int, list[_ReportRow]] = {}
            unknown: dict[int, list[_ReportRow]] = {}
            for r in rows:
                if r.gateway != "" or ((r.row_id, r.part) not in named
                                       and len(fits[(r.carrier_id, r.part)]) == 1):
                    by_row.setdefault(r.row_id, []).append(r)
                elif (r.row_id, r.part) in named:
                    unknown.setdefault(r.row_id, []).append(r)
            updates: list[tuple[Any, ...]] = []
            applied: list[tuple[Any, ...]] = []
            for row_id, parts in by_row.items():
                totals = [p.parts for p in parts if p.parts]
                if totals:
                    expected = max(totals)
                elif all(p.part == 1 for p in parts):
                    expected = 1  # one report for the whole message (no part fields)
                else:
                    expected = parts[0].segments or 1
                bad = sorted((p for p in parts if p.status != "delivered"), key=lambda p: p.part)
                if bad:
                    worst = bad[0]  # the first part that did not arrive
                    reason = f"carrier report: {worst.status}" + (
                        f" ({worst.error})" if worst.error else "")
                    state = "expired" if worst.status == "expired" else "failed"
                    updates.append((state, reason, now, row_id))
                elif len({p.part for p in parts}) >= expected:
                    updates.append(("delivered", None, now, row_id))
                else:
                    continue
                applied.extend((row_id, p.carrier_id, p.gateway, p.part)
                               for p in parts + unknown.get(row_id, []))
            if updates:
                db.executemany(
                    "UPDATE sms SET state=?, reason=?, final_at=? WHERE id=? AND state='accepted'",
                    updates,
                )
                db.executemany(
                    "UPDATE reports SET applied_to=? WHERE carrier_id=? AND gateway=? AND part=?",
                    applied,
                )

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
            yield LedgerRow(
                id=r[0], campaign=r[1], message=r[2], msisdn=r[3], carrier_hint=r[4],
                state=SmsState(r[5]), attempts=r[6], gateway=r[7], carrier_id=r[8],
                segments=r[9], reason=r[10], idempotency_key=r[11], source=r[12],
                created_at=pendulum.from_timestamp(r[13], tz=LOCAL_TZ),
                submitted_at=_dt(r[14]), accepted_at=_dt(r[15]), final_at=_dt(r[16]),
            )

    def delivered_by_day(self, campaign: str, utc_offset_hours: int = 7) -> dict[tuple[str, str], int]:
        """Delivered messages per (local day ``YYYY-MM-DD``, message), the day taken from the
        final delivery report at UTC+``utc_offset_hours`` (Việt Nam has no daylight saving)."""
        rows = self._db.execute(
            "SELECT date(final_at + ?, 'unixepoch'), message, count(*) FROM sms"
            " WHERE campaign=? AND state='delivered' AND final_at IS NOT NULL GROUP BY 1, 2",
            (utc_offset_hours * 3600, campaign),
        ).fetchall()
        return {(str(d), str(m)): int(n) for d, m, n in rows}

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

    # -- control (pause/cancel from another process) ------------------------------------

    def set_control(self, campaign: str, message: str, state: str) -> None:
        if state not in ("running", "paused", "cancelled"):
            raise LedgerError(f"unknown control state {state!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO control (campaign, message, state, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (campaign, message) DO UPDATE SET state=excluded.state,"
                " updated_at=excluded.updated_at",
                (campaign, message, state, time.time()),
            )

    def control(self, campaign: str, message: str) -> str:
        row = self._db.execute(
            "SELECT state FROM control WHERE campaign=? AND message=?", (campaign, message)
        ).fetchone()
        return "running" if row is None else str(row[0])

    # -- circuit breaker events (``sms status``) ---------------------------------------

    def record_breaker_event(self, campaign: str, message: str, gateway: str, kind: str,
                             reason: str, open_seconds: float, at: float) -> None:
        """Store one open (``open``/``reopen``) or ``close`` of a gateway's breaker."""
        with self._tx() as db:
            db.execute("INSERT INTO breaker_events (campaign, message, gateway, at, kind, "
                       "reason, open_seconds) VALUES (?,?,?,?,?,?,?)",
                       (campaign, message, gateway, at, kind, reason, open_seconds))

    def breaker_summary(self, campaign: str, message: str) -> dict[str, BreakerSummary]:
        """Per gateway: how often its breaker opened, the last open and close, and how
        long it stayed open in all."""
        out: dict[str, BreakerSummary] = {}
        rows = self._db.execute(
            "SELECT gateway, at, kind, reason, open_seconds FROM breaker_events "
            "WHERE campaign=? AND message=? ORDER BY at, rowid", (campaign, message))
        for gateway, at, kind, reason, open_seconds in rows:
            s = out.get(gateway) or BreakerSummary(gateway)
            if kind == "open":
                s = attrs.evolve(s, opens=s.opens + 1, last_open=_dt(at), last_open_reason=reason,
                                 is_open=True)
            elif kind == "reopen":
                s = attrs.evolve(s, failed_probes=s.failed_probes + 1, last_open_reason=reason)
            else:
                s = attrs.evolve(s, last_close=_dt(at), last_open_seconds=open_seconds,
                                 open_seconds=s.open_seconds + open_seconds, is_open=False)
            out[gateway] = s
        return out

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

    # -- carrier-run broadcasts ---------------------------------------------------------

    def order_broadcast(
        self, campaign: str, carrier: str, message: str, now: float, note: str | None = None
    ) -> None:
        """Record that the province ordered ``carrier`` to broadcast ``message`` itself."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO broadcast_orders (campaign, carrier, message, ordered_at, note)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (campaign, carrier, message, now, note),
            )

    def report_broadcast(
        self, campaign: str, carrier: str, message: str, *, subscribers: int, sent: int,
        delivered: int, now: float, areas: Sequence[AreaTotals] = (),
    ) -> None:
        """Store the totals a carrier reported for a broadcast it ran, and its breakdown by
        area if it gave one.  A later report replaces the earlier one whole, areas included."""
        if not 0 <= delivered <= sent <= subscribers:
            raise LedgerError(
                f"{carrier}: totals must satisfy 0 <= delivered ({delivered}) <= sent ({sent})"
                f" <= subscribers ({subscribers})"
            )
        excess = excess_over_totals(areas, subscribers=subscribers, sent=sent,
                                    delivered=delivered)
        if excess:
            raise LedgerError(f"{carrier}: " + "; ".join(message for _, message in excess))
        with self._tx() as db:
            cur = db.execute(
                "UPDATE broadcast_orders SET reported_at=?, subscribers=?, sent=?, delivered=?"
                " WHERE campaign=? AND carrier=? AND message=?",
                (now, subscribers, sent, delivered, campaign, carrier, message),
            )
            if cur.rowcount == 0:
                raise LedgerError(
                    f"no broadcast order for carrier {carrier!r}, message {message!r} in"
                    f" campaign {campaign!r}: order it first"
                )
            db.execute("DELETE FROM broadcast_areas WHERE campaign=? AND carrier=? AND message=?",
                       (campaign, carrier, message))
            db.executemany(
                "INSERT INTO broadcast_areas (campaign, carrier, message, area, subscribers, sent,"
                " delivered) VALUES (?,?,?,?,?,?,?)",
                [(campaign, carrier, message, a.area, a.subscribers, a.sent, a.delivered)
                 for a in areas],
            )

    def broadcast_orders(self, campaign: str) -> list[BroadcastOrder]:
        rows = self._db.execute(
            "SELECT campaign, carrier, message, ordered_at, reported_at, subscribers, sent,"
            " delivered, note FROM broadcast_orders WHERE campaign=? ORDER BY carrier, message",
            (campaign,),
        ).fetchall()
        areas: dict[tuple[str, str], list[AreaTotals]] = {}
        for carrier, message, *totals in self._db.execute(
            "SELECT carrier, message, area, subscribers, sent, delivered FROM broadcast_areas"
            " WHERE campaign=? ORDER BY carrier, message, CAST(area AS INTEGER)", (campaign,),
        ):
            areas.setdefault((carrier, message), []).append(AreaTotals(*totals))
        return [
            BroadcastOrder(
                campaign=r[0], carrier=r[1], message=r[2],
                ordered_at=pendulum.from_timestamp(r[3], tz=LOCAL_TZ),
                reported_at=_dt(r[4]), subscribers=r[5], sent=r[6], delivered=r[7], note=r[8],
                areas=tuple(areas.get((r[1], r[2]), ())),
            )
            for r in rows
        ]

    def numbers_after(self, campaign: str, after_id: int) -> Iterator[tuple[int, str]]:
        """``(row id, msisdn)`` of ``campaign``'s rows with an id above ``after_id``, in id
        order (for keyed phone hashes kept by the KPI layer; never logged)."""
        yield from self._db.execute(
            "SELECT id, msisdn FROM sms WHERE id > ? AND campaign = ? ORDER BY id", (after_id, campaign))

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

    # -- the sending lease (sms/lease.py) -------------------------------------------------

    def _lease_conn(self) -> sqlite3.Connection:
        """The lease's connection (call with ``_lease_mutex`` held)."""
        if self._lease_db is None:
            try:
                self._lease_db = sqlite3.connect(self.path, timeout=self._timeout,
                                                 isolation_level=None, check_same_thread=False)
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot open ledger: {exc}") from exc
        return self._lease_db

    @contextlib.contextmanager
    def _lease_tx(self) -> Iterator[sqlite3.Connection]:
        with self._lease_mutex:
            db = self._lease_conn()
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot start a transaction: {exc}") from exc
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: commit failed: {exc}") from exc

    @staticmethod
    def _lease_row(row: Sequence[Any] | None) -> LeaseInfo | None:
        return None if row is None else LeaseInfo(*row)

    _LEASE_COLUMNS = "campaign, message, owner, host, pid, acquired_at, renewed_at, expires_at"

    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo:
        """Take the sending lease of (campaign, message) in one write transaction: free,
        expired, already ours, or held by ``take_over`` (a sender known to be gone);
        else ``SenderBusyError`` naming the holder."""
        with self._lease_tx() as db:
            held = self._lease_row(db.execute(
                f"SELECT {self._LEASE_COLUMNS} FROM sender_lease WHERE campaign=? AND message=?",
                (campaign, message)).fetchone())
            if (held is not None and held.live(now) and held.owner != owner.token
                    and held.owner != take_over):
                raise SenderBusyError(
                    f"another sender is already sending {message!r} from {self.path} "
                    f"({describe_lease(held, now)}); 'sms pause' or 'sms cancel' steer it, "
                    f"and a sender that died leaves the lease when it expires")
            acquired = held.acquired_at if held is not None and held.owner == owner.token \
                else now
            db.execute(
                "INSERT OR REPLACE INTO sender_lease (campaign, message, owner, host, pid,"
                " acquired_at, renewed_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
                (campaign, message, owner.token, owner.host, owner.pid, acquired, now, now + ttl))
            self._held[(campaign, message)] = owner.token
        self._protect_sidecars()
        return LeaseInfo(campaign, message, owner.token, owner.host, owner.pid, acquired, now,
                         now + ttl)

    def _fence(self, db: sqlite3.Connection, *keys: tuple[str, str]) -> None:
        """Refuse a sending write (claim, outcomes, recovery) for a message whose lease
        this store took and another sender has taken over since: checked inside the
        write's own transaction, which a takeover (a write too) cannot interleave."""
        for key in keys:
            token = self._held.get(key)
            if token is None:
                continue
            row = db.execute("SELECT owner, host, pid FROM sender_lease WHERE campaign=?"
                             " AND message=?", key).fetchone()
            if row is None or row[0] != token:
                holder = "" if row is None else f" by pid {row[2]} on {row[1]}"
                raise SenderBusyError(
                    f"the sending lease of {key[1]!r} was taken over{holder} (this sender"
                    " stalled past its expiry): nothing more is written by this sender")

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool:
        with self._lease_tx() as db:
            cur = db.execute(
                "UPDATE sender_lease SET renewed_at=?, expires_at=? WHERE campaign=?"
                " AND message=? AND owner=?", (now, now + ttl, campaign, message, owner))
            return cur.rowcount == 1

    def release_lease(self, campaign: str, message: str, owner: str) -> None:
        with self._lease_tx() as db:
            db.execute("DELETE FROM sender_lease WHERE campaign=? AND message=? AND owner=?",
                       (campaign, message, owner))
            if self._held.get((campaign, message)) == owner:
                del self._held[(campaign, message)]

    def lease(self, campaign: str, message: str) -> LeaseInfo | None:
        with self._lease_mutex:
            return self._lease_row(self._lease_conn().execute(
                f"SELECT {self._LEASE_COLUMNS} FROM sender_lease WHERE campaign=? AND message=?",
                (campaign, message)).fetchone())

    def close(self) -> None:
        with self._lease_mutex:
            if self._lease_db is not None:
                self._lease_db.close()
                self._lease_db = None
        self._db.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LedgerSendHistory:
    """The ``SendHistory`` (a ``TimedSendHistory``) the 3-per-24h policy asks: promotional
    SMS accepted per number, so a hold ends exactly when a slot frees."""

    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger
        self._cache: dict[str, list[float]] | None = None
        self._cache_since = 0.0
        self._cache_since_dt: pendulum.DateTime | None = None

    def prefetch(self, msisdns: Sequence[str], since: float) -> None:
        """Read the history of a whole batch of numbers in one go (the engine does this per
        claimed batch); answers for ``since`` at or after ``since`` come from memory."""
        self._cache = self._ledger.promotional_times_many(msisdns, since)
        self._cache_since = since
        self._cache_since_dt = pendulum.from_timestamp(since, tz=LOCAL_TZ)

    def clear(self) -> None:
        self._cache = None

    def _times(self, msisdn: str, since: pendulum.DateTime) -> list[float]:
        cache = self._cache
        if cache is not None:
            times = cache.get(msisdn)
            if not times:
                # comparing date-times is cheaper than converting ``since`` per row
                if self._cache_since_dt is not None and since >= self._cache_since_dt:
                    return []
            else:
                floor = since.timestamp()
                if floor >= self._cache_since:
                    return [t for t in times if t >= floor]
        return self._ledger.promotional_times(msisdn, since.timestamp())

    def count_promotional(self, msisdn: str, since: pendulum.DateTime) -> int:
        return len(self._times(msisdn, since))

    def promotional_counts(self, msisdns: Sequence[str], since: pendulum.DateTime) -> dict[
        str, int
    ]:
        """Counts for a batch (``BatchSendHistory``): from the prefetched batch when it
        covers ``since`` — only numbers with earlier sends are looked at — else per number."""
        cache = self._cache
        floor = since.timestamp()
        if cache is not None and floor >= self._cache_since:
            counts = {m: n for m, times in cache.items()
                      if (n := sum(1 for t in times if t >= floor))}
            if counts:  # the prefetch may have held other numbers: the batch's only
                batch = set(msisdns)
                counts = {m: n for m, n in counts.items() if m in batch}
            return counts
        return {m: n for m in dict.fromkeys(msisdns) if (n := self.count_promotional(m, since))}

    def promotional_times(self, msisdn: str, since: pendulum.DateTime) -> list[pendulum.DateTime]:
        return [pendulum.from_timestamp(t, tz=LOCAL_TZ) for t in self._times(msisdn, since)]
