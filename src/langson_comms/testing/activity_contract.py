"""Contract tests for activity channels (channels that log records and count reach).

Usage::

    from langson_comms.testing import ActivityChannelContract

    class TestSchoolChannel(ActivityChannelContract):
        contributed_class = SchoolChannel
        example_config = {"schools": ["Trường THPT Việt Bắc"]}
        plugin = my_plugin_module                  # optional: checks registration
        good_rows = {"session": [{"school": "Trường THPT Việt Bắc", "date": "2022-07-05",
                                  "pupils": "420"}]}
        bad_rows = {"session": [{"school": "Trường THPT Việt Bắc", "date": "soon", "pupils": "420"}]}

``good_rows`` and ``bad_rows`` map each record kind to rows as a file holds them (field
name → cell text), dated inside 2022-07-01..2022-07-31 (the contract campaign's period).
The contract checks, through the real file reader, ``log_files`` and a real SQLite
store, what every activity channel must guarantee (``langson_comms.activity.contract``):

* it declares record classes (``ActivityRecord`` subclasses, distinct kinds, required
  columns among its columns);
* a good row becomes a record whose identity does not change when read again and which
  survives the store's JSON round trip;
* its reach records carry the channel key, a count ≥ 0, a written-out method, the
  source, and days inside the record's span;
* a bad row is a ``RowProblem`` naming one of the record's fields, and in a file it is
  rejected at ``file:line`` while the good rows are kept (``read = accepted +
  duplicates + rejected``); logging the file again adds nothing;
* ``cadence_gaps`` returns ``CadenceGap``s inside the period.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pendulum

from ..activity.contract import ActivityChannel, ActivityRecord, CadenceGap, DayCount, RowProblem
from ..activity.log import decode_record, encode_record, log_files
from ..activity.store import SqliteActivityStore
from ..campaign import Campaign, ChannelPlan, Period
from ..clock import FrozenClock
from .contracts import ContributionContract

__all__ = ["ActivityChannelContract", "contract_campaign"]

KEY = "under_test"
PERIOD = Period(pendulum.Date(2022, 7, 1), pendulum.Date(2022, 7, 31))


def contract_campaign(channel: Any) -> Campaign:
    """A campaign for July 2022 holding ``channel`` as ``[channels.under_test]``."""
    return Campaign(id="contract", title="activity contract", period=PERIOD,
                    channels={KEY: ChannelPlan(KEY, channel.name, channel)})


def write_rows(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    fields = list(dict.fromkeys(f for row in rows for f in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


class ActivityChannelContract(ContributionContract):
    """What every activity channel must do (see the module docstring)."""

    kind: ClassVar[str] = "channel"
    good_rows: ClassVar[Mapping[str, Sequence[Mapping[str, str]]]] = {}
    bad_rows: ClassVar[Mapping[str, Sequence[Mapping[str, str]]]] = {}

    def channel(self, tmp_path: Path) -> ActivityChannel:
        built = self.build(tmp_path)
        assert isinstance(built, ActivityChannel), "an activity channel subclasses ActivityChannel"
        return built

    def test_declares_record_classes(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        classes = channel.activity_records
        assert classes, "activity_records names at least one record class"
        kinds = [c.kind for c in classes]
        assert len(set(kinds)) == len(kinds) and all(kinds), "record kinds are distinct and non-empty"
        for cls in classes:
            assert issubclass(cls, ActivityRecord)
            assert set(cls.required) <= set(cls.columns), f"{cls.kind}: required columns are columns"
        assert set(self.good_rows) == set(kinds), "give good_rows for every record kind"

    def test_good_rows_become_records_with_stable_identity(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        for kind, rows in self.good_rows.items():
            cls = channel.record_class(kind)
            for row in rows:
                record = cls.from_row(row)
                assert record.identity == cls.from_row(dict(row)).identity
                assert record.day <= record.last_day
                assert decode_record(encode_record(record), cls) == record

    def test_reach_records_are_complete(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        campaign = contract_campaign(channel)
        for kind, rows in self.good_rows.items():
            cls = channel.record_class(kind)
            for row in rows:
                record = cls.from_row(row)
                for reach in channel.reach(record, key=KEY, campaign=campaign, source="f.csv:2"):
                    assert reach.channel == KEY and reach.count >= 0
                    assert reach.method.strip(), "the method is written out"
                    assert reach.source == "f.csv:2"
                    assert record.day <= reach.day <= record.last_day

    def test_bad_rows_name_their_field(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        for kind, rows in self.bad_rows.items():
            cls = channel.record_class(kind)
            for row in rows:
                try:
                    cls.from_row(row)
                except RowProblem as problem:
                    assert problem.field in cls.columns and problem.reason
                else:
                    raise AssertionError(f"{kind}: {row} was accepted")

    def test_files_keep_good_rows_reject_bad_ones_and_add_nothing_twice(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        campaign = contract_campaign(channel)
        clock = FrozenClock(pendulum.datetime(2022, 8, 1, tz="Asia/Ho_Chi_Minh"))
        with SqliteActivityStore(tmp_path / "activity.sqlite") as store:
            for kind, good in self.good_rows.items():
                bad = list(self.bad_rows.get(kind, ()))
                path = write_rows(tmp_path / f"{kind}.csv", [*good[:1], *bad, *good[1:]])
                report = log_files(campaign, store, KEY, [path], clock=clock, kind=kind)
                counts = report.files[str(path)]
                assert counts.read == counts.accepted + counts.duplicates + counts.rejected == len(good) + len(bad)
                assert counts.rejected == len(bad) and counts.accepted == len(good)
                for i, rejection in enumerate(report.rejections[str(path)]):
                    assert rejection.where == f"{path}:{i + 3}"
                again = log_files(campaign, store, KEY, [path], clock=clock, kind=kind).files[str(path)]
                assert again.accepted == 0 and again.duplicates == len(good)

    def test_cadence_gaps_lie_in_the_period(self, tmp_path: Path) -> None:
        channel = self.channel(tmp_path)
        days = [DayCount(kind, None, dt.date(2022, 7, 5), 1) for kind in self.good_rows]
        for gaps in (channel.cadence_gaps([], PERIOD, key=KEY), channel.cadence_gaps(days, PERIOD, key=KEY)):
            for gap in gaps:
                assert isinstance(gap, CadenceGap)
                assert PERIOD.start <= gap.start <= gap.end <= PERIOD.end
