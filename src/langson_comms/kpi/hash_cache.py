"""Keyed phone hashes of the SMS ledger's rows, kept between reports.

Matching installs with delivered SMS needs ``HMAC(key, msisdn)`` of every ledger row —
a million HMACs per report, too slow for a dashboard that refreshes.  ``HashCache``
keeps ``(key id, ledger row id) → hash`` in its own SQLite file (owner-only; hashes
only, never a number) and hashes only the rows added since the last report.  The key
id is the hash of a fixed probe number, so a new pseudonym key starts a new set and
never mixes with the old one.  Deleting the file is always safe.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import LedgerError

__all__ = ["HashCache"]

_PROBE = "+84900000000"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (
    key_id TEXT NOT NULL,
    sms_id INTEGER NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (key_id, sms_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hashes_by_hash ON hashes (key_id, hash);
CREATE TABLE IF NOT EXISTS done (key_id TEXT NOT NULL, campaign TEXT NOT NULL, last_id INTEGER NOT NULL,
    PRIMARY KEY (key_id, campaign));
"""


class HashCache:
    """The cache file (see the module's docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        """``timeout``: seconds to wait for another report (or the dashboard) writing its
        hashes into the same file, then a ``LedgerError`` naming the file."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot open the phone-hash cache: {exc}") from exc

    def deliveries(self, ledger: Any, campaign: str, hasher: Callable[[str], str],
                   wanted: Iterable[str]) -> dict[str, list[float]]:
        """Keyed hash → delivery times of the ledger's delivered messages whose number's
        hash is in ``wanted`` (hashing first the rows added since the last call); a
        ``LedgerError`` naming the file when it stays busy or cannot be written."""
        try:
            return self._deliveries(ledger, campaign, hasher, wanted)
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise LedgerError(
                f"{self.path}: the phone-hash cache is busy (another report or the dashboard is writing "
                "it; expected it free: try again, or delete the file, which is always safe)" if busy else
                f"{self.path}: cannot use the phone-hash cache: {exc} (deleting the file is always safe)"
            ) from None

    def _deliveries(self, ledger: Any, campaign: str, hasher: Callable[[str], str],
                    wanted: Iterable[str]) -> dict[str, list[float]]:
        key_id = hasher(_PROBE)[:16]
        batch: list[tuple[str, int, str]] = []
        self._db.execute("BEGIN IMMEDIATE")  # one writer at a time; others wait ``timeout``
        try:
            row = self._db.execute("SELECT last_id FROM done WHERE key_id = ? AND campaign = ?",
                                   (key_id, campaign)).fetchone()
            last = int(row[0]) if row else 0  # read inside: a report that waited starts after the other
            for sms_id, msisdn in ledger.numbers_after(campaign, last):
                last = sms_id
                try:
                    batch.append((key_id, sms_id, hasher(msisdn)))
                except ValueError:
                    continue  # not a mobile number: it cannot match a sign-up either
                if len(batch) >= 10_000:
                    self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?)", batch)
                    batch.clear()
            self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?)", batch)
            self._db.execute("INSERT OR REPLACE INTO done VALUES (?, ?, ?)", (key_id, campaign, last))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (hash TEXT PRIMARY KEY) WITHOUT ROWID")
        self._db.execute("DELETE FROM wanted")
        self._db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((h,) for h in wanted))
        # CROSS JOIN keeps this order: each wanted hash looked up in the cache's index
        # (left to itself SQLite walks every cached row and probes the wanted set)
        ids = self._db.execute(
            "SELECT h.sms_id, h.hash FROM wanted w CROSS JOIN hashes h ON h.key_id = ? AND h.hash = w.hash",
            (key_id,)).fetchall()
        times = ledger.delivered_times([i for i, _ in ids])
        found: dict[str, list[float]] = defaultdict(list)
        for sms_id, hashed in ids:
            if sms_id in times:
                found[hashed].append(float(times[sms_id]))
        return dict(found)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> HashCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
