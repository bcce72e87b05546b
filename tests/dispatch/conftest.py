"""Fixtures for the dispatch tests: a real SQLite ledger and real loopback servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from langson_comms.sms.ledger import Recipient, SqliteLedger
from langson_comms.testing.simulator import carrier_simulator  # noqa: F401  (fixture)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    with SqliteLedger(tmp_path / "ledger.sqlite") as store:
        yield store


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+8491{i:07d}" for i in range(start, start + n)]


def load(ledger: SqliteLedger, n: int, *, campaign: str = "c", message: str = "m",
         carrier: str = "viettel", promotional: bool = False) -> None:
    ledger.enqueue(campaign, message, (Recipient(m, carrier) for m in numbers(n)),
                   promotional=promotional, now=time.time())
