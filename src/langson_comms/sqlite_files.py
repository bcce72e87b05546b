"""What every SQLite store of the project shares (the SMS ledger, the sign-up and the
activity stores): an owner-only file in WAL mode, and one ``BEGIN IMMEDIATE`` transaction
that rolls back on any error and turns SQLite's errors into ``LedgerError``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import LedgerError

__all__ = ["open_private", "protect_sidecars", "transaction"]


def open_private(path: Path, what: str, schema: str, *, timeout: float) -> sqlite3.Connection:
    """Open (or create, ``0600`` from the first byte: no umask race) the SQLite file
    ``path`` in WAL mode with ``synchronous=NORMAL`` (a committed batch survives kill -9)
    and a 32 MiB page cache, and run ``schema``; one connection threads may share.
    ``LedgerError`` names the file and ``what`` it is."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-32768")
        db.executescript(schema)
    except (OSError, sqlite3.Error) as exc:
        raise LedgerError(f"{path}: cannot open the {what}: {exc}") from exc
    protect_sidecars(path)
    return db


def protect_sidecars(path: Path) -> None:
    """Make the WAL and shared-memory files beside ``path`` owner-only too."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.chmod(path.with_name(path.name + suffix), 0o600)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path,
                lock: threading.Lock | None = None) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, ``ROLLBACK`` on any error; under ``lock`` when
    threads share the connection (one transaction at a time)."""
    with lock if lock is not None else contextlib.nullcontext():
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot start a transaction: {exc}") from exc
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise LedgerError(f"{path}: commit failed: {exc}") from exc
