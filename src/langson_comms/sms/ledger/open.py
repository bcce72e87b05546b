"""``open_ledger``: a ledger from a path or a URL (``store_url``): SQLite or PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...errors import LedgerError
from ...store_url import StoreLocation, store_location
from .sqlite import SqliteLedger
from .store import Ledger


def open_ledger(url_or_path: str | os.PathLike[str] | StoreLocation, *,
                password_env: str | None = None, environ: Mapping[str, str] | None = None,
                timeout: float = 10.0) -> Ledger:
    """Open the ledger at ``url_or_path``: a path or ``sqlite:///…`` gives a
    ``SqliteLedger`` (the default, unchanged), ``postgresql://user@host:port/db`` a
    ``PostgresLedger`` (its tables created or migrated on first open).

    The server's password comes from the variable ``password_env`` names (in ``environ``,
    default the process environment), else from libpq's ``PGPASSWORD`` or ``~/.pgpass``.
    ``LedgerError`` when the value cannot be read, the variable is not set or the server
    cannot be reached (naming the server, never the password)."""
    if isinstance(url_or_path, StoreLocation):
        location = url_or_path
    else:
        try:
            location = store_location(url_or_path)
        except ValueError as exc:
            raise LedgerError(f"cannot open ledger: {exc}") from None
    if location.path is not None:
        return SqliteLedger(location.path)
    env = os.environ if environ is None else environ
    password: str | None = None
    if password_env:
        password = env.get(password_env)
        if password is None:
            raise LedgerError(f"{location.describe()}: the password variable {password_env}"
                              " is not set")
    from .postgres import PostgresLedger

    return PostgresLedger(location.url or "", password=password, timeout=timeout)
