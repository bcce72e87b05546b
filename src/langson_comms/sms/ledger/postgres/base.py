"""Connecting to the PostgreSQL ledger: the pool, the schema and its migrations, transactions.

``PgBase`` is what every part of ``PostgresLedger`` builds on: a small psycopg-pool
``ConnectionPool`` (the engine, the lease heartbeat thread and readers each take a
connection for one transaction), the write transaction ``_tx``, reads ``_read`` and the
fence that keeps a sender whose lease was taken over from writing (``_fence``).

A connection cut (the server restarted, a network blip) fails the transaction it was in;
the methods marked ``@reconnecting`` run again, on a new connection, for up to
``reconnect_for`` seconds -- each is safe to repeat (its writes are conditional on the
rows' state, or replay-safe).  ``claim`` is repeated only when the cut came before its
commit: a claim whose commit is in doubt is not made twice.

Errors name the server as ``postgresql://user@host:port/db`` -- never a password.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ....errors import LedgerError, SenderBusyError
from .schema import _VERSION_TABLE, COMPONENT, MIGRATION_LOCK, MIGRATIONS

Conn = psycopg.Connection[tuple[Any, ...]]
P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="PgBase")


class ConnectionLost(LedgerError):
    """The connection to the server was cut during a transaction (or none could be had);
    ``committing``: the cut came while committing, so whether it committed is unknown."""

    def __init__(self, message: str, *, committing: bool) -> None:
        super().__init__(message)
        self.committing = committing


def reconnecting(*, in_doubt_too: bool = True
                 ) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Run the method again after a ``ConnectionLost``, for up to the store's
    ``reconnect_for`` seconds; ``in_doubt_too=False``: not when the cut came at commit."""

    def wrap(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        @functools.wraps(method)
        def retried(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            deadline = time.monotonic() + self.reconnect_for
            delay = 0.05
            while True:
                try:
                    return method(self, *args, **kwargs)
                except ConnectionLost as exc:
                    if (exc.committing and not in_doubt_too) or \
                            time.monotonic() + delay > deadline:
                        raise
                time.sleep(delay)
                delay = min(2 * delay, 1.0)

        return retried

    return wrap


def redacted(conninfo: str) -> str:
    """``conninfo`` (a URL) without its password, for messages."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "postgresql://(unreadable URL)"
    user = f"{params['user']}@" if params.get("user") else ""
    port = f":{params['port']}" if params.get("port") else ""
    return f"postgresql://{user}{params.get('host') or ''}{port}/{params.get('dbname') or ''}"


class PgBase:
    """The server connection and schema; the parts of ``PostgresLedger`` subclass it."""

    def __init__(self, conninfo: str, *, password: str | None = None, timeout: float = 10.0,
                 max_connections: int = 4, reconnect_for: float = 30.0) -> None:
        self.location = redacted(conninfo)
        #: how long a method marked ``@reconnecting`` tries again after a cut connection
        self.reconnect_for = reconnect_for
        #: (campaign, message) -> owner token of the leases taken through this store
        self._held: dict[tuple[str, str], str] = {}
        self._held_mutex = threading.Lock()
        kwargs: dict[str, Any] = {"connect_timeout": max(1, round(timeout)),
                                  "application_name": "langson_comms"}
        if password is not None:
            kwargs["password"] = password
        # One direct connection first: a wrong host, port or password gives the server's
        # own message here (a pool would only time out).
        try:
            with psycopg.connect(conninfo, **kwargs) as conn:
                self.server_version = conn.info.server_version
                if self.server_version < 140000:
                    raise LedgerError(
                        f"{self.location}: PostgreSQL {self.server_version // 10000} is too old:"
                        " the ledger needs version 14 or later")
                self._migrate(conn)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.location}: cannot open ledger: {_short(exc)}") from exc
        self._pool: ConnectionPool[Conn] = ConnectionPool(
            conninfo, kwargs=kwargs, min_size=1, max_size=max_connections, open=False,
            timeout=timeout, name="langson-ledger")
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise LedgerError(f"{self.location}: cannot open ledger: no connection within"
                              f" {timeout:g} s") from exc

    @staticmethod
    def _migrate(conn: Conn) -> None:
        """Apply the migrations not yet recorded, in one transaction under an advisory lock
        (a second process starting at once waits, then finds them applied).  A database
        already up to date is only read: a role that may only read (a dashboard) opens it."""
        with conn.transaction():
            if conn.execute("SELECT to_regclass('schema_version')").fetchone() != (None,):
                done = {r[0] for r in conn.execute(
                    "SELECT version FROM schema_version WHERE component=%s", (COMPONENT,))}
                PgBase._refuse_newer(conn, done)
                if done >= {m[0] for m in MIGRATIONS}:
                    return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(_VERSION_TABLE)
            done = {r[0] for r in conn.execute(
                "SELECT version FROM schema_version WHERE component=%s", (COMPONENT,))}
            PgBase._refuse_newer(conn, done)
            for version, description, statements in MIGRATIONS:
                if version not in done:
                    conn.execute(statements)
                    conn.execute("INSERT INTO schema_version (component, version, description)"
                                 " VALUES (%s, %s, %s)", (COMPONENT, version, description))

    @staticmethod
    def _refuse_newer(conn: Conn, done: set[int]) -> None:
        newest = max(done, default=0)
        if newest > MIGRATIONS[-1][0]:
            raise LedgerError(
                f"{redacted(conn.info.dsn)}: the ledger's schema is version {newest}, newer"
                f" than this version of langson_comms knows ({MIGRATIONS[-1][0]}):"
                " upgrade langson_comms")

    def schema_version(self) -> int:
        """The newest migration applied to this database."""
        with self._read() as conn:
            row = conn.execute("SELECT max(version) FROM schema_version WHERE component=%s",
                               (COMPONENT,)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Conn]:
        """One write transaction on a pooled connection (committed at the end);
        ``ConnectionLost`` when the connection was cut."""
        conn: Conn | None = None
        committing = False
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
                committing = True
        except psycopg.Error as exc:
            if conn is not None and conn.broken:
                raise ConnectionLost(f"{self.location}: {_short(exc)}",
                                     committing=committing) from exc
            raise LedgerError(f"{self.location}: {_short(exc)}") from exc
        except PoolTimeout as exc:  # nothing was done: the server may be coming back
            raise ConnectionLost(f"{self.location}: no connection: {exc}",
                                 committing=False) from exc

    _read = _tx

    def _fence(self, db: Conn, *keys: tuple[str, str]) -> None:
        """Refuse a sending write (claim, outcomes, recovery) for a message whose lease
        this store took and another sender has taken over since: the lease row is read
        ``FOR SHARE`` in the write's own transaction, so a takeover waits for it."""
        for key in keys:
            token = self._held.get(key)
            if token is None:
                continue
            row = db.execute("SELECT owner, host, pid FROM sender_lease WHERE campaign=%s"
                             " AND message=%s FOR SHARE", key).fetchone()
            if row is None or row[0] != token:
                holder = "" if row is None else f" by pid {row[2]} on {row[1]}"
                raise SenderBusyError(
                    f"the sending lease of {key[1]!r} was taken over{holder} (this sender"
                    " stalled past its expiry): nothing more is written by this sender")

    def _held_keys(self) -> list[tuple[str, str]]:
        with self._held_mutex:
            return list(self._held)

    def close(self) -> None:
        self._pool.close()


def _short(exc: BaseException) -> str:
    """The first line of a driver error: the server's DETAIL line, which may quote a
    row's values (a phone number), is left out."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
