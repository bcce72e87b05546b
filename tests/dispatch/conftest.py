"""Fixtures for the dispatch tests: a real SQLite ledger and real loopback servers.

``ledger_factory`` and ``any_ledger`` run a test on both ledger backends: a SQLite file
and a database on the session's throwaway PostgreSQL server (``postgres_url``, from the
test kit; skipped with the reason when there is no PostgreSQL here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from langson_comms.sms.ledger import Ledger, Recipient, SqliteLedger, open_ledger
from langson_comms.testing.simulator import carrier_simulator  # noqa: F401  (fixture)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    with SqliteLedger(tmp_path / "ledger.sqlite") as store:
        yield store


#: the ledger backends the contract tests run on
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(params=BACKENDS)
def ledger_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """``ledger_factory()`` opens one more handle on this test's ledger (a new SQLite file,
    or a new PostgreSQL database): two handles are two senders or a sender and a reader.
    Every handle is closed at the end."""
    where = (str(tmp_path / "ledger.sqlite") if request.param == "sqlite"
             else request.getfixturevalue("postgres_url"))
    opened: list[Ledger] = []

    def make() -> Ledger:
        opened.append(open_ledger(where))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def any_ledger(ledger_factory: Callable[[], Ledger]) -> Ledger:
    """A fresh ledger, once per backend (``ledger_factory``)."""
    return ledger_factory()


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+8491{i:07d}" for i in range(start, start + n)]


def load(ledger: Ledger, n: int, *, campaign: str = "c", message: str = "m",
         carrier: str = "viettel", promotional: bool = False) -> None:
    ledger.enqueue(campaign, message, (Recipient(m, carrier) for m in numbers(n)),
                   promotional=promotional, now=time.time())
