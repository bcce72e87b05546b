"""``PostgresLedger``: the ledger on a PostgreSQL server (version 14 or later).

The same ``LedgerStore`` as ``SqliteLedger`` -- states, idempotency keys, replay-safe
delivery reports, the sender lease -- for several senders and readers on several hosts:
claims take rows with ``FOR UPDATE SKIP LOCKED``, outcomes are written one statement per
kind of outcome, loads go through ``COPY``.  The parts, by responsibility: ``base``
(connections, migrations, transactions), ``schema``, ``sending``, ``reports``,
``reading`` (with control and breaker events), ``leases`` (with carrier broadcasts).
docs/postgresql.md describes the schema and how to run it.
"""

from __future__ import annotations

from .leases import PgLeasesAndBroadcasts
from .reading import PgReading
from .schema import SCHEMA_VERSION
from .sending import PgSending

__all__ = ["SCHEMA_VERSION", "PostgresLedger"]


class PostgresLedger(PgSending, PgReading, PgLeasesAndBroadcasts):
    """A ``LedgerStore`` in a PostgreSQL database: ``PostgresLedger(url, password=None)``.

    ``url`` is a libpq URL (``postgresql://user@host:port/db``); the password, when the
    server asks for one, comes from ``password`` or libpq's own ``PGPASSWORD`` /
    ``~/.pgpass``.  The tables are created (and migrated) on first open."""

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
