"""Where activity is kept: the ``ActivityStore`` interface and its SQLite implementation.

``log_files``/``log_records``, ``activity_status`` and ``reach_records`` only use
``ActivityStore``; a PostgreSQL store implements the same methods.  The rule every
implementation keeps: ``store_batch`` writes a batch's records, their reach records
and its rejections **in one transaction**, and a record whose ``(channel_key,
record_kind, identity)`` is already stored is a duplicate (counted, not stored; its
reach is not stored either), so logging a file twice adds nothing.

Reach is computed when a record is logged, with the campaign's figures of that moment
(an outlet's default audience, say); re-log into a fresh store after changing them.

SQLite schema (``SqliteActivityStore``; one file, WAL mode, owner-only ``0600``)::

    activities  one row per record identity
      id INTEGER PRIMARY KEY
      channel_key TEXT        the [channels.<key>] it was logged for
      record_kind TEXT        item | placement | clip | post | visit | training | …
      identity TEXT           the record's identity; UNIQUE (channel_key, record_kind, identity)
      day, last_day TEXT      local dates YYYY-MM-DD (last_day = day but for placements)
      grp TEXT                cadence group (outlet, page) or NULL
      data TEXT               the record's fields as JSON
      source TEXT             where it was read (file:line, or what code passed)
      stored_at REAL          epoch seconds (injected clock)
    reach       one row per reach record of a stored activity
      id, activity_id (→ activities.id), channel_key, kind, day TEXT, district_code,
      commune_code, count INTEGER, method, source
    rejections  one row per input row that did not become a record (the same row
                rejected again at the same location for the same reason is not added
                twice; ``digest`` tells rows apart: a blake2b digest of the row's text)
      id, channel_key, location, column_name, reason, stored_at, digest
    ingests     one row per logged file (or code batch)
      id, channel_key, source, started_at, finished_at, read, accepted, duplicates, rejected
    day_totals  records per (channel_key, record_kind, grp ('' for none), day, last_day),
                kept up to date in the same transaction (``activity status`` reads these)
      ..., records INTEGER
    reach_totals  reach per (channel_key, day, district_code ('' for unknown)), likewise
      ..., reach_records INTEGER, reach INTEGER
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

from ..errors import LedgerError
from ..reach import ReachRecord
from ..sqlite_files import open_private, transaction
from .contract import DayCount

__all__ = [
    "ActivityRejection",
    "ActivityStore",
    "BatchCounts",
    "LogRecord",
    "SqliteActivityStore",
    "StoredActivity",
    "row_digest",
]


class StoredActivity(NamedTuple):
    """One record as the store keeps it, with its reach records."""

    record_kind: str
    identity: str
    day: dt.date
    last_day: dt.date
    group: str | None
    data: str
    source: str
    reach: tuple[ReachRecord, ...]


@attrs.frozen(slots=True)
class ActivityRejection:
    """An input row that did not become a record: ``where`` (``file:line``), ``column``
    (the file's header) when known, and ``reason`` (what was expected)."""

    where: str
    reason: str
    column: str | None = None
    #: a digest of the row's content (``row_digest``): the same row rejected again (a
    #: file logged twice) is stored once, another row at the same place is kept
    digest: str = attrs.field(default="", eq=False, kw_only=True)

    def format(self) -> str:
        return f"{self.where}: {self.column}: {self.reason}" if self.column else f"{self.where}: {self.reason}"


@attrs.frozen
class BatchCounts:
    """New records (``accepted``) and records already stored (``duplicates``) of a batch."""

    accepted: int
    duplicates: int


@attrs.frozen
class LogRecord:
    """The counts of one logged file (``read = accepted + duplicates + rejected``)."""

    channel_key: str
    source: str
    started_at: float
    finished_at: float
    read: int
    accepted: int
    duplicates: int
    rejected: int


@runtime_checkable
class ActivityStore(Protocol):
    """The store interface: atomic batches, log records, and the sums status needs."""

    def store_batch(self, channel_key: str, activities: Sequence[StoredActivity],
                    rejections: Sequence[ActivityRejection], now: float) -> BatchCounts:
        """In ONE transaction: new records with their reach, and the rejections.
        Raises ``LedgerError`` and stores nothing on failure."""
        ...

    def record_log(self, record: LogRecord) -> None:
        """Keep the counts of one logged file."""
        ...

    def reach(self, channel_key: str, start: dt.date, end: dt.date) -> Iterator[ReachRecord]:
        """The channel's reach records with ``start <= day <= end``."""
        ...

    def reach_sums(self, start: dt.date, end: dt.date) -> list[tuple[str, str | None, int, int]]:
        """``(channel_key, district_code, reach records, reach)`` with ``start <= day <= end``."""
        ...

    def reach_totals(self, start: dt.date, end: dt.date) -> list[tuple[str, str, str, str | None, str | None, int]]:
        """Reach summed per ``(channel_key, day, method, district_code, commune_code)`` with
        ``start <= day <= end`` (what the KPIs sum: one row per group, not per record)."""
        ...

    def day_counts(self, channel_key: str, start: dt.date, end: dt.date) -> list[DayCount]:
        """Records per (kind, group, day), each record counted on every day of
        ``day``..``last_day`` inside ``start``..``end``."""
        ...

    def record_data(self, channel_key: str, record_kind: str) -> Iterator[tuple[str, str]]:
        """``(data JSON, source)`` of the channel's records of one kind, in storage order."""
        ...

    def record_counts(self, start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
        """Records per channel key and kind overlapping ``start``..``end``."""
        ...

    def rejected(self) -> dict[str, int]:
        """Rejections stored, per channel key (a row rejected again counts once)."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY,
    channel_key TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    identity TEXT NOT NULL,
    day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    grp TEXT,
    data TEXT NOT NULL,
    source TEXT NOT NULL,
    stored_at REAL NOT NULL,
    UNIQUE (channel_key, record_kind, identity)
);
CREATE TABLE IF NOT EXISTS reach (
    id INTEGER PRIMARY KEY,
    activity_id INTEGER NOT NULL REFERENCES activities (id),
    channel_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    day TEXT NOT NULL,
    district_code TEXT,
    commune_code TEXT,
    count INTEGER NOT NULL,
    method TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reach_by_channel_day ON reach (channel_key, day);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY,
    channel_key TEXT NOT NULL,
    location TEXT NOT NULL,
    column_name TEXT,
    reason TEXT NOT NULL,
    stored_at REAL NOT NULL,
    digest TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS rejections_by_location ON rejections (channel_key, location);
CREATE TABLE IF NOT EXISTS day_totals (
    channel_key TEXT NOT NULL,
    record_kind TEXT NOT NULL,
    grp TEXT NOT NULL,
    day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    records INTEGER NOT NULL,
    PRIMARY KEY (channel_key, record_kind, grp, day, last_day)
);
CREATE TABLE IF NOT EXISTS reach_totals (
    channel_key TEXT NOT NULL,
    day TEXT NOT NULL,
    district_code TEXT NOT NULL,
    reach_records INTEGER NOT NULL,
    reach INTEGER NOT NULL,
    PRIMARY KEY (channel_key, day, district_code)
);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY,
    channel_key TEXT NOT NULL,
    source TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    read INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    rejected INTEGER NOT NULL
);
"""

_INSERT = (
    "INSERT OR IGNORE INTO activities (channel_key, record_kind, identity, day, last_day, grp,"
    " data, source, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A row rejected again (the file logged twice, a rerun after kill -9) is kept once.
_INSERT_REJECTION = (
    "INSERT INTO rejections (channel_key, location, column_name, reason, stored_at, digest)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE NOT EXISTS (SELECT 1 FROM rejections WHERE channel_key = ?1"
    " AND location = ?2 AND column_name IS ?3 AND reason = ?4 AND digest = ?6)"
)


def row_digest(text: str) -> str:
    """A short digest of a rejected row's content (not the content: it may be personal)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
_INSERT_REACH = (
    "INSERT INTO reach (activity_id, channel_key, kind, day, district_code, commune_code, count,"
    " method, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteActivityStore:
    """The default ``ActivityStore``: one SQLite file, WAL mode, created ``0600``."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_private(self.path, "activity store", _SCHEMA, timeout=timeout)
        self._add_digest_column()

    def _add_digest_column(self) -> None:
        """Stores made before rejections had a ``digest`` get the column (empty)."""
        try:
            with self._tx() as db:
                if "digest" not in {row[1] for row in db.execute("PRAGMA table_info(rejections)")}:
                    db.execute("ALTER TABLE rejections ADD COLUMN digest TEXT NOT NULL DEFAULT ''")
        except sqlite3.Error as exc:
            self._db.close()
            raise LedgerError(f"{self.path}: cannot upgrade the activity store: {exc}") from exc
    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self.path, self._lock)

    def store_batch(self, channel_key: str, activities: Sequence[StoredActivity],
                    rejections: Sequence[ActivityRejection], now: float) -> BatchCounts:
        accepted = 0
        try:
            with self._tx() as db:
                cursor = db.cursor()
                reach_rows: list[tuple[object, ...]] = []
                days: dict[tuple[str, str, str, str], int] = {}
                for a in activities:
                    cursor.execute(_INSERT, (channel_key, a.record_kind, a.identity, a.day.isoformat(),
                                             a.last_day.isoformat(), a.group, a.data, a.source, now))
                    if cursor.rowcount != 1:
                        continue
                    accepted += 1
                    span = (a.record_kind, a.group or "", a.day.isoformat(), a.last_day.isoformat())
                    days[span] = days.get(span, 0) + 1
                    row_id = cursor.lastrowid
                    reach_rows.extend(
                        (row_id, channel_key, r.kind, r.day.isoformat(), r.district_code, r.commune_code,
                         r.count, r.method, r.source) for r in a.reach)
                if reach_rows:
                    db.executemany(_INSERT_REACH, reach_rows)
                    sums: dict[tuple[str, str], list[int]] = {}
                    for row in reach_rows:
                        key = (str(row[3]), str(row[4] or ""))
                        found = sums.get(key)
                        if found is None:
                            sums[key] = [1, int(row[6])]  # type: ignore[call-overload]
                        else:
                            found[0] += 1
                            found[1] += int(row[6])  # type: ignore[call-overload]
                    db.executemany(
                        "INSERT INTO reach_totals (channel_key, day, district_code, reach_records, reach)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                        " reach_records = reach_records + excluded.reach_records, reach = reach + excluded.reach",
                        ((channel_key, d, area, n, total) for (d, area), (n, total) in sums.items()))
                if days:
                    db.executemany(
                        "INSERT INTO day_totals (channel_key, record_kind, grp, day, last_day, records)"
                        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET records = records + excluded.records",
                        ((channel_key, *key, n) for key, n in days.items()))
                if rejections:
                    db.executemany(_INSERT_REJECTION,
                                   ((channel_key, r.where, r.column, r.reason, now, r.digest) for r in rejections))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot store a batch of {channel_key!r}: {exc}") from exc
        return BatchCounts(accepted=accepted, duplicates=len(activities) - accepted)

    def record_log(self, record: LogRecord) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO ingests (channel_key, source, started_at, finished_at, read, accepted,"
                    " duplicates, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.channel_key, record.source, record.started_at, record.finished_at,
                     record.read, record.accepted, record.duplicates, record.rejected))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot record the log of {record.source!r}: {exc}") from exc

    def _read(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return list(self._db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the activity store: {exc}") from exc

    def reach(self, channel_key: str, start: dt.date, end: dt.date) -> Iterator[ReachRecord]:
        rows = self._read(
            "SELECT day, count, method, source, district_code, commune_code, kind FROM reach"
            " WHERE channel_key = ? AND day BETWEEN ? AND ? ORDER BY day, id",
            (channel_key, start.isoformat(), end.isoformat()))
        for day, count, method, source, district, commune, kind in rows:
            yield ReachRecord(dt.date.fromisoformat(str(day)), channel_key, int(count),  # type: ignore[call-overload]
                              str(method), str(source), district_code=district, commune_code=commune,
                              kind=str(kind))

    def reach_totals(self, start: dt.date, end: dt.date) -> list[tuple[str, str, str, str | None, str | None, int]]:
        """Reach summed per ``(channel_key, day, method, district_code, commune_code)`` in
        ``start``..``end`` (for the KPI layer: one row per group, not per record)."""
        rows = self._read(
            "SELECT channel_key, day, method, district_code, commune_code, sum(count) FROM reach"
            " WHERE day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5",
            (start.isoformat(), end.isoformat()))
        return [(str(k), str(d), str(m), None if dc is None else str(dc), None if cc is None else str(cc),
                 int(n))  # type: ignore[call-overload]
                for k, d, m, dc, cc, n in rows]

    def reach_sums(self, start: dt.date, end: dt.date) -> list[tuple[str, str | None, int, int]]:
        rows = self._read(
            "SELECT channel_key, district_code, sum(reach_records), sum(reach) FROM reach_totals"
            " WHERE day BETWEEN ? AND ? GROUP BY 1, 2 ORDER BY 1, 2",
            (start.isoformat(), end.isoformat()))
        return [(str(k), str(d) or None, int(n), int(s))  # type: ignore[call-overload]
                for k, d, n, s in rows]

    def day_counts(self, channel_key: str, start: dt.date, end: dt.date) -> list[DayCount]:
        lo, hi = start.isoformat(), end.isoformat()
        # One-day records are grouped by SQLite; records spanning days are spread in Python.
        rows = self._read(
            "SELECT record_kind, grp, day, sum(records) FROM day_totals WHERE channel_key = ?"
            " AND day = last_day AND day BETWEEN ? AND ? GROUP BY 1, 2, 3",
            (channel_key, lo, hi))
        counts: dict[tuple[str, str | None, dt.date], int] = {}
        dates: dict[object, dt.date] = {}
        for kind, group, day, n in rows:
            date = dates.get(day)
            if date is None:
                date = dates[day] = dt.date.fromisoformat(str(day))
            counts[(str(kind), str(group) or None, date)] = int(n)  # type: ignore[call-overload]
        spans = self._read(
            "SELECT record_kind, grp, day, last_day, sum(records) FROM day_totals WHERE channel_key = ?"
            " AND day < last_day AND day <= ? AND last_day >= ? GROUP BY 1, 2, 3, 4",
            (channel_key, hi, lo))
        one = dt.timedelta(days=1)
        for kind, group, first, last, n in spans:
            day = max(dt.date.fromisoformat(str(first)), start)
            stop = min(dt.date.fromisoformat(str(last)), end)
            name, grp = str(kind), str(group) or None
            while day <= stop:
                key = (name, grp, day)
                counts[key] = counts.get(key, 0) + int(n)  # type: ignore[call-overload]
                day += one
        return [DayCount(k, g, d, n) for (k, g, d), n in counts.items()]

    def record_data(self, channel_key: str, record_kind: str) -> Iterator[tuple[str, str]]:
        rows = self._read("SELECT data, source FROM activities WHERE channel_key = ? AND record_kind = ?"
                          " ORDER BY id", (channel_key, record_kind))
        for data, source in rows:
            yield str(data), str(source)

    def record_counts(self, start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for key, kind, n in self._read(
                "SELECT channel_key, record_kind, sum(records) FROM day_totals WHERE day <= ? AND last_day >= ?"
                " GROUP BY 1, 2 ORDER BY 1, 2", (end.isoformat(), start.isoformat())):
            out.setdefault(str(key), {})[str(kind)] = int(n)  # type: ignore[call-overload]
        return out

    def rejected(self) -> dict[str, int]:
        return {str(k): int(n) for k, n in  # type: ignore[call-overload]
                self._read("SELECT channel_key, count(*) FROM rejections GROUP BY 1", ())}

    def rejections(self, channel_key: str | None = None) -> list[ActivityRejection]:
        """The stored rejections (of one channel, or all), oldest first."""
        sql = "SELECT location, reason, column_name FROM rejections"
        args: tuple[object, ...] = ()
        if channel_key is not None:
            sql += " WHERE channel_key = ?"
            args = (channel_key,)
        return [ActivityRejection(where=str(w), reason=str(r), column=None if c is None else str(c))
                for w, r, c in self._read(sql + " ORDER BY id", args)]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteActivityStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
