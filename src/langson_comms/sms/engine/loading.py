"""Loading a prepared audience file into the ledger."""

from __future__ import annotations

import time
from collections.abc import Iterable

from ...messages import Message
from ..ledger import LedgerStore


def load_prepared(
    ledger: LedgerStore, campaign: str, message: Message, path: str, *, now: float | None = None
) -> tuple[int, int]:
    """Load a prepared audience file (``sms prepare`` output) into the ledger.

    Idempotent: loading the same file twice adds nothing.  Returns (added, already there).
    """
    from ..audience import iter_prepared
    from ..ledger import Recipient

    def recipients() -> Iterable[Recipient]:
        for row in iter_prepared(path):
            fields = {k: v for k, v in row.fields.items() if v}
            yield Recipient(row.msisdn, str(row.carrier_hint), fields or None,
                            f"{row.source_file}:{row.source_line}")

    return ledger.enqueue(campaign, message.key, recipients(), promotional=message.promotional,
                          now=time.time() if now is None else now)
