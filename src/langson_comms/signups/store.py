"""Where sign-ups are kept: the ``SignupStore`` interface and its SQLite implementation.

The ingestion loop (``ingest``), the webhook receiver and ``signups status`` only use
``SignupStore``; a PostgreSQL store implements the same five methods.  The one rule
every implementation must keep: ``store_batch`` writes a batch's events, its rejections
and the source's new position **in one transaction** — all or nothing — so a source
resumed from the stored position never skips nor doubles an item.

SQLite schema (``SqliteSignupStore``; one file, WAL mode, owner-only ``0600``)::

    signups     one row per event identity
      id INTEGER PRIMARY KEY
      platform, kind, external_id TEXT   UNIQUE (platform, kind, external_id)
      occurred_at REAL        epoch seconds
      day TEXT                local date (campaign timezone) of occurred_at, YYYY-MM-DD
      phone_hash TEXT         HMAC-SHA256 of the E.164 number (see pseudonym.py) or NULL
      phone TEXT              the E.164 number, only with [signups] clear_numbers = true
      commune_code TEXT       attributed commune (the event's, else its team's) or NULL
      team_code TEXT          attributed team, NULL when unattributed
      rule TEXT               team_code | commune | unattributed
      reported_team TEXT      the team code as the source gave it
      reported_commune TEXT   the commune code as the source gave it
      in_period INTEGER       1 if occurred_at is inside the campaign period
      source_key TEXT         the [signups.<key>] that stored it first
      source TEXT             where it was read (file:line, page, request)
      stored_at REAL          epoch seconds (injected clock)
    rejections  one row per input item that did not become an event
      id, source_key, location, column_name, reason, stored_at
    positions   the resumable position of each source
      source_key TEXT PRIMARY KEY, position TEXT, updated_at REAL
    replays     the signatures of webhook requests already stored, until they expire
      source_key TEXT, signature TEXT, expires_at REAL   PRIMARY KEY (source_key, signature)
    ingests     one row per finished ingest of one source
      id, source_key, started_at, finished_at, read, accepted, duplicates, rejected,
      unattributed
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

from ..errors import LedgerError
from ..sqlite_files import open_private, transaction
from .source import Rejection

__all__ = [
    "BatchResult",
    "IngestRecord",
    "SignupStatus",
    "SignupStore",
    "SqliteSignupStore",
    "StoredRequest",
    "StoredSignup",
]


class StoredSignup(NamedTuple):
    """One event as the store keeps it: attributed, its number pseudonymised.

    A named tuple (one is made per event; a frozen class's ``__init__`` costs several
    times more on a million-row ingest), in the column order of ``signups``."""

    platform: str
    kind: str
    external_id: str
    occurred_at: float
    day: str
    phone_hash: str | None
    phone: str | None
    commune_code: str | None
    team_code: str | None
    rule: str
    reported_team: str | None
    reported_commune: str | None
    in_period: bool
    source: str


@attrs.frozen
class StoredRequest:
    """One received request for ``SignupStore.store_requests``: its replay ``key`` (the
    signature), how long to remember it (``expires_at``, epoch seconds), its rows."""

    key: str
    expires_at: float
    signups: Sequence[StoredSignup]
    rejections: Sequence[Rejection] = ()


@attrs.frozen
class BatchResult:
    """How many of a batch's events were new (``accepted``, of which ``unattributed``) and
    how many were already stored (``duplicates``)."""

    accepted: int
    duplicates: int
    unattributed: int


@attrs.frozen
class IngestRecord:
    """The counts of one finished ingest of one source (``read = accepted + duplicates + rejected``)."""

    source_key: str
    started_at: float
    finished_at: float
    read: int
    accepted: int
    duplicates: int
    rejected: int
    unattributed: int


@attrs.frozen
class SignupStatus:
    """What is stored: ``total`` events, and counts by platform, kind, day, team and commune.

    ``unattributed`` counts events with no team (they are in ``by_team`` as
    ``"unattributed"`` too); ``out_of_period`` those outside the campaign period;
    ``rejected`` the rejections stored.
    """

    total: int
    by_platform: Mapping[str, int]
    by_kind: Mapping[str, int]
    by_day: Mapping[str, int]
    by_team: Mapping[str, int]
    by_commune: Mapping[str, int]
    unattributed: int
    out_of_period: int
    rejected: int


@runtime_checkable
class SignupStore(Protocol):
    """The store interface: positions, atomic batches, ingest records, status."""

    def position(self, source_key: str) -> str | None:
        """The position saved with the source's last stored batch, ``None`` if none."""
        ...

    def store_batch(self, source_key: str, signups: Sequence[StoredSignup],
                    rejections: Sequence[Rejection], position: str | None, now: float) -> BatchResult:
        """In ONE transaction: insert new events (an identity already stored is a duplicate),
        the rejections, and — unless ``position`` is ``None`` — the source's new position.
        Durable when it returns; raises ``LedgerError`` and stores nothing on failure."""
        ...

    def store_requests(self, source_key: str, requests: Sequence[StoredRequest],
                       now: float) -> list[BatchResult | None]:
        """For receivers (webhooks), in ONE transaction for all ``requests``: remember each
        request's ``key`` (its signature) until its ``expires_at`` and store its events and
        rejections.  A request whose key is still remembered is a replay: ``None`` in its
        place, nothing of it stored.  Forgets expired keys.  Durable when it returns;
        ``LedgerError`` and nothing stored on failure."""
        ...

    def record_ingest(self, record: IngestRecord) -> None:
        """Keep the counts of one finished ingest."""
        ...

    def status(self) -> SignupStatus:
        """Counts of everything stored."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS signups (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    day TEXT NOT NULL,
    phone_hash TEXT,
    phone TEXT,
    commune_code TEXT,
    team_code TEXT,
    rule TEXT NOT NULL,
    reported_team TEXT,
    reported_commune TEXT,
    in_period INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    source TEXT NOT NULL,
    stored_at REAL NOT NULL,
    UNIQUE (platform, kind, external_id)
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY,
    source_key TEXT NOT NULL,
    location TEXT NOT NULL,
    column_name TEXT,
    reason TEXT NOT NULL,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS positions (
    source_key TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS replays (
    source_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (source_key, signature)
);
CREATE INDEX IF NOT EXISTS replays_expiry ON replays (expires_at);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY,
    source_key TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    read INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    unattributed INTEGER NOT NULL
);
"""

_INSERT = (
    "INSERT OR IGNORE INTO signups (platform, kind, external_id, occurred_at, day, phone_hash,"
    " phone, commune_code, team_code, rule, reported_team, reported_commune, in_period,"
    " source, source_key, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteSignupStore:
    """The default ``SignupStore``: one SQLite file, WAL mode, created ``0600``.

    Safe to share between threads (one connection; transactions take turns under a lock);
    a second process waits up to ``timeout`` seconds for SQLite's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_private(self.path, "sign-up store", _SCHEMA, timeout=timeout)

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        # One connection shared by threads (a receiver's handlers): one transaction at a time.
        return transaction(self._db, self.path, self._lock)

    def position(self, source_key: str) -> str | None:
        row = self._db.execute("SELECT position FROM positions WHERE source_key = ?",
                               (source_key,)).fetchone()
        return None if row is None else str(row[0])

    def store_batch(self, source_key: str, signups: Sequence[StoredSignup],
                    rejections: Sequence[Rejection], position: str | None, now: float) -> BatchResult:
        try:
            with self._tx() as db:
                return self._insert(db, source_key, signups, rejections, position, now)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot store a batch of {source_key!r}: {exc}") from exc

    @staticmethod
    def _insert(db: sqlite3.Connection, source_key: str, signups: Sequence[StoredSignup],
                rejections: Sequence[Rejection], position: str | None, now: float) -> BatchResult:
        attributed = [s for s in signups if s.team_code is not None]
        unattributed = [s for s in signups if s.team_code is None]
        counts = []
        for group in (attributed, unattributed):
            cursor = db.executemany(_INSERT, ((*s, source_key, now) for s in group))
            counts.append(max(cursor.rowcount, 0) if group else 0)
        if rejections:
            db.executemany(
                "INSERT INTO rejections (source_key, location, column_name, reason, stored_at)"
                " VALUES (?, ?, ?, ?, ?)",
                ((source_key, r.where, r.column, r.reason, now) for r in rejections),
            )
        if position is not None:
            db.execute(
                "INSERT INTO positions (source_key, position, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source_key) DO UPDATE SET position = excluded.position,"
                " updated_at = excluded.updated_at",
                (source_key, position, now),
            )
        accepted = counts[0] + counts[1]
        return BatchResult(accepted=accepted, duplicates=len(signups) - accepted, unattributed=counts[1])

    def store_requests(self, source_key: str, requests: Sequence[StoredRequest],
                       now: float) -> list[BatchResult | None]:
        results: list[BatchResult | None] = []
        try:
            with self._tx() as db:
                db.execute("DELETE FROM replays WHERE expires_at < ?", (now,))
                for request in requests:
                    fresh = db.execute(
                        "INSERT OR IGNORE INTO replays (source_key, signature, expires_at) VALUES (?, ?, ?)",
                        (source_key, request.key, request.expires_at),
                    ).rowcount
                    results.append(self._insert(db, source_key, request.signups, request.rejections, None, now)
                                   if fresh == 1 else None)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot store {len(requests)} request(s) of {source_key!r}: {exc}") from exc
        return results

    def record_ingest(self, record: IngestRecord) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO ingests (source_key, started_at, finished_at, read, accepted,"
                    " duplicates, rejected, unattributed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.source_key, record.started_at, record.finished_at, record.read,
                     record.accepted, record.duplicates, record.rejected, record.unattributed),
                )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record the ingest of {record.source_key!r}: {exc}") from exc

    def _group(self, column: str) -> dict[str, int]:
        rows = self._db.execute(
            f"SELECT coalesce({column}, 'unattributed'), count(*) FROM signups GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return {str(key): int(n) for key, n in rows}

    def status(self) -> SignupStatus:
        try:
            total, unattributed, out = self._db.execute(
                "SELECT count(*), coalesce(sum(team_code IS NULL), 0), coalesce(sum(in_period = 0), 0)"
                " FROM signups"
            ).fetchone()
            rejected = self._db.execute("SELECT count(*) FROM rejections").fetchone()[0]
            by_commune = self._db.execute(
                "SELECT coalesce(commune_code, 'unknown'), count(*) FROM signups GROUP BY 1 ORDER BY 1"
            ).fetchall()
            return SignupStatus(
                total=int(total),
                by_platform=self._group("platform"),
                by_kind=self._group("kind"),
                by_day=self._group("day"),
                by_team=self._group("team_code"),
                by_commune={str(k): int(n) for k, n in by_commune},
                unattributed=int(unattributed),
                out_of_period=int(out),
                rejected=int(rejected),
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the sign-up store: {exc}") from exc

    def rejections(self, source_key: str | None = None) -> list[Rejection]:
        """The stored rejections (of one source, or all), oldest first."""
        sql = "SELECT location, reason, column_name FROM rejections"
        args: tuple[str, ...] = ()
        if source_key is not None:
            sql += " WHERE source_key = ?"
            args = (source_key,)
        return [Rejection(where=w, reason=r, column=c) for w, r, c in self._db.execute(sql + " ORDER BY id", args)]

    def events(self, first_day: str | None = None, last_day: str | None = None) -> list[tuple[
            str, str, float, str, str | None, str | None, str | None, str]]:
        """The stored events for measuring (``langson_comms.kpi``), oldest first, as tuples
        ``(platform, kind, occurred_at, day, phone_hash, commune_code, team_code, rule)``;
        only those whose local ``day`` (YYYY-MM-DD) is within the inclusive bounds given."""
        sql = ("SELECT platform, kind, occurred_at, day, phone_hash, commune_code, team_code, rule"
               " FROM signups WHERE day >= ? AND day <= ? ORDER BY occurred_at, id")
        try:
            return self._db.execute(sql, (first_day or "", last_day or "9999")).fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the sign-up store: {exc}") from exc

    def events_after(self, after_id: int, first_day: str | None = None, last_day: str | None = None
                     ) -> tuple[tuple[int, int, int], list[tuple[
                         str, str, float, str, str | None, str | None, str | None, str]]]:
        """``events`` stored after row ``after_id``, in the same order, for a reader that
        keeps what it read (``langson_comms.kpi.SignupCache``); with ``(rows up to
        after_id, rows, last id)`` read in the same transaction: the store only appends,
        so a reader whose own count of rows up to ``after_id`` differs knows the file
        changed under it and reads it whole."""
        sql = ("SELECT platform, kind, occurred_at, day, phone_hash, commune_code, team_code, rule"
               " FROM signups WHERE id > ? AND day >= ? AND day <= ? ORDER BY occurred_at, id")
        try:
            with self._lock:
                self._db.execute("BEGIN")
                try:
                    before = int(self._db.execute("SELECT count(*) FROM signups WHERE id <= ?",
                                                  (after_id,)).fetchone()[0])
                    total, last = self._db.execute("SELECT count(*), coalesce(max(id), 0) FROM signups").fetchone()
                    rows = self._db.execute(sql, (after_id, first_day or "", last_day or "9999")).fetchall()
                finally:
                    self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the sign-up store: {exc}") from exc
        return (before, int(total), int(last)), rows

    def count(self) -> int:
        """The number of events stored."""
        return int(self._db.execute("SELECT count(*) FROM signups").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteSignupStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
