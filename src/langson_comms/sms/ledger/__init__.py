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

The package, by responsibility: ``records`` (states and values), ``store`` (the
``LedgerStore`` interface), ``schema`` and ``base`` (the file, its tables and
migrations, transactions), ``sending`` (loading, claiming, recording outcomes),
``reports`` (delivery reports), ``reading``, ``control`` (pause/cancel, breaker events),
``broadcasts`` (carrier-run broadcasts), ``leases`` (the sender lease), ``sqlite``
(``SqliteLedger``, all of them together), ``history`` (``LedgerSendHistory``),
``report_rules`` (which report finishes which row, for both backends), ``postgres``
(``PostgresLedger``, the same store on a PostgreSQL server) and ``open`` (``open_ledger``:
either one, from a path or a URL).
Import from ``langson_comms.sms.ledger``: the names below are its API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .history import LedgerSendHistory
from .open import open_ledger
from .records import (
    FINAL_STATES,
    BreakerSummary,
    BroadcastOrder,
    DeliveryReport,
    LedgerRow,
    QueuedSms,
    Recipient,
    ReportStatus,
    Result,
    SmsState,
    idempotency_key,
    in_doubt_gateways,
    refused_gateways,
    routes_tried,
    tried_entry,
)
from .sqlite import SqliteLedger
from .store import Ledger, LedgerStore

if TYPE_CHECKING:
    from .postgres import PostgresLedger

__all__ = [
    "FINAL_STATES",
    "BreakerSummary",
    "BroadcastOrder",
    "DeliveryReport",
    "Ledger",
    "LedgerRow",
    "LedgerSendHistory",
    "LedgerStore",
    "PostgresLedger",
    "QueuedSms",
    "Recipient",
    "ReportStatus",
    "Result",
    "SmsState",
    "SqliteLedger",
    "idempotency_key",
    "in_doubt_gateways",
    "open_ledger",
    "refused_gateways",
    "routes_tried",
    "tried_entry",
]


def __getattr__(name: str) -> Any:
    # PostgresLedger is imported on first use: psycopg is slow to import, and a SQLite
    # ledger (every command's default) never needs it.
    if name == "PostgresLedger":
        from .postgres import PostgresLedger

        return PostgresLedger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
