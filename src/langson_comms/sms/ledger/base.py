"""Opening a ledger file: permissions, the schema and its migrations, transactions.

``LedgerBase`` is what every part of ``SqliteLedger`` builds on: the connection, the
write transaction ``_tx`` and the fence that keeps a sender whose lease was taken over
from writing (``_fence``, see ``leases.py``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

from ...errors import LedgerError, SenderBusyError
from ...sqlite_files import protect_sidecars, transaction
from .schema import _REPORTS_TABLE, _SCHEMA


class LedgerBase:
    """The ledger file and its connections; the parts of ``SqliteLedger`` subclass it."""

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
        # The gateways that refused a row as not theirs (issue 15): none before.
        self._migrate("sms", "routes_tried", "ALTER TABLE sms ADD COLUMN routes_tried TEXT")

    def _protect_sidecars(self) -> None:
        protect_sidecars(self.path)

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self.path)

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
