"""One transaction per confirmations file: all rows, rejections and the ingest record, or
nothing (the store side; reading the CSV is the reader's business)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pendulum
import pytest

from langson_comms import Runtime
from langson_comms.broadcast.asrun import AsRunStore, Confirmation, ingest_csv
from langson_comms.errors import DataError, LedgerError

AT = pendulum.datetime(2022, 7, 20, 9, tz="Asia/Ho_Chi_Minh")


def _counts(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("confirmations", "rejections", "ingests")]


class _FailingAt:
    """A checker that stops the file at one line, as a reader or store error would."""

    def __init__(self, checker: Any, line: int) -> None:
        self.checker, self.line = checker, line

    def check(self, row: Any, *, via: str, source: str, line: int) -> Any:
        if line == self.line:
            raise DataError("cannot go on", source=source, line=line)
        return self.checker.check(row, via=via, source=source, line=line)


def test_a_file_failing_after_good_and_bad_rows_stores_nothing(runtime: Runtime, channel: Any,
                                                               tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    a0 = schedule.for_station("TTH-186")[0]
    path = tmp_path / "c.csv"
    path.write_text(f"station,date,time,item\nTTH-186,{a0.day},14:00,{a0.item}\n"
                    f"TTH-999,{a0.day},14:00,{a0.item}\nonly,three,cells\n"
                    f"TTH-186,{a0.day},15:00,{a0.item}\n", encoding="utf-8")
    db = tmp_path / "asrun.sqlite"
    failing = _FailingAt(channel.checker(schedule), line=5)
    with AsRunStore(db) as store, pytest.raises(DataError, match=r"c\.csv:5"):
        ingest_csv(path, store, failing, at=AT)  # type: ignore[arg-type]
    assert _counts(db) == [0, 0, 0]
    # the same file read to its end: stored whole (the short row rejected), with its record
    with AsRunStore(db) as store:
        report = ingest_csv(path, store, channel.checker(schedule), at=AT)
    assert (report.accepted, len(report.rejected)) == (2, 2)
    assert _counts(db) == [2, 2, 1]


def test_writes_outside_a_transaction_commit_one_by_one(tmp_path: Path) -> None:
    db = tmp_path / "asrun.sqlite"
    confirmation = Confirmation("TTH-186", pendulum.Date(2022, 7, 1), pendulum.time(14, 0), "x")
    with AsRunStore(db) as store:
        store.add(confirmation, at=AT)  # the HTTP endpoint's way: each row its own commit
        assert _counts(db) == [1, 0, 0]
        with pytest.raises(RuntimeError), store.transaction():
            store.add(Confirmation("TTH-180", pendulum.Date(2022, 7, 1), pendulum.time(14, 0), "x"), at=AT)
            raise RuntimeError("boom")
        with store.transaction(), pytest.raises(LedgerError, match="already open"), store.transaction():
            pass
    assert _counts(db) == [1, 0, 0]
