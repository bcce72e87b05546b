"""The sender lease's storage (``sms.lease.LeaseStore``): one sender per message.

The lease has a connection of its own: its heartbeat thread renews it while the sender
writes on the main connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from ...errors import LedgerError, SenderBusyError
from ..lease import LeaseInfo, LeaseOwner, describe_lease
from .base import LedgerBase


class SenderLeases(LedgerBase):
    """The sending-lease part of ``SqliteLedger``."""

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
