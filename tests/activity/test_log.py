"""Logging files and code: every bad row rejected with its location, good rows kept, totals add up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import xlsxwriter

from langson_comms import Campaign
from langson_comms.activity.log import log_files, log_records
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.clock import FrozenClock
from langson_comms.default_plugins.activity_records import PressItem, TeamVisit
from langson_comms.errors import ConfigError, DataError

from .conftest import write


def test_every_kind_of_bad_row_is_rejected_where_it_is_and_the_good_rows_are_kept(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "press.csv",
                 "Cơ quan báo chí,Ngày đăng,Tiêu đề,Loại,Lượt tiếp cận\n"
                 "Báo A,2022-07-05,Good one,article,1000\n"       # 2 kept
                 "Báo A,2022-13-05,Bad date,article,1000\n"       # 3 date
                 "Báo A,2022-07-06,Bad count,article,many\n"      # 4 audience
                 ",2022-07-06,No outlet,article,10\n"             # 5 outlet empty
                 "Báo A,2022-07-06,Bad kind,podcast,10\n"         # 6 kind
                 "Báo Z,2022-07-06,Unknown outlet,article,10\n"   # 7 outlet not in channel
                 "Báo A,2022-08-06,Outside,article,10\n"          # 8 outside the period
                 "Báo A,2022-07-06,Too,many,cells,10\n"           # 9 misaligned
                 "Báo A,2022-07-06,No audience anywhere,article,\n"  # 10 no audience for Báo A
                 "Báo A,2022-07-05,Good one,article,1000\n"       # 11 duplicate of line 2
                 "Đài B,2022-07-07,Good two,radio,\n")            # 12 kept (default audience)
    report = log_files(campaign, store, "press", [path], clock=frozen_clock)
    counts = report.files[str(path)]
    assert (counts.read, counts.accepted, counts.duplicates, counts.rejected) == (11, 2, 1, 8)
    assert counts.read == counts.accepted + counts.duplicates + counts.rejected
    found = {r.where.rsplit(":", 1)[1]: (r.column, r.reason) for r in report.rejections[str(path)]}
    assert found["3"][0] == "Ngày đăng" and "not a date" in found["3"][1]
    assert found["4"][0] == "Lượt tiếp cận" and "whole number" in found["4"][1]
    assert found["5"][0] == "Cơ quan báo chí" and "empty" in found["5"][1]
    assert found["6"][0] == "Loại" and "article, radio, tv" in found["6"][1]
    assert "not an outlet" in found["7"][1]
    assert found["8"][0] == "Ngày đăng" and "outside the campaign period" in found["8"][1]
    assert "cells" in found["9"][1]
    assert "no audience" in found["10"][1]
    assert not report.ok
    assert len(store.rejections("press")) == 8


def test_relogging_a_file_adds_nothing(campaign: Campaign, store: SqliteActivityStore, tmp_path: Path,
                                       frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "posts.csv", "platform,page,date,views\nzalo,G,2022-07-05,10\nzalo,G,2022-07-06,5\n")
    first = log_files(campaign, store, "social", [path], clock=frozen_clock).files[str(path)]
    again = log_files(campaign, store, "social", [path], clock=frozen_clock).files[str(path)]
    assert (first.accepted, first.duplicates) == (2, 0)
    assert (again.read, again.accepted, again.duplicates) == (2, 0, 2)
    assert sum(n for _, _, _, n in store.reach_sums(dt.date(2022, 7, 1), dt.date(2022, 7, 31))) == 15


def test_xlsx_files_with_vietnamese_headers(campaign: Campaign, store: SqliteActivityStore, tmp_path: Path,
                                            frozen_clock: FrozenClock) -> None:
    path = tmp_path / "visits.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate([["Mã tổ", "Mã xã", "Ngày", "Số hộ"], ["T2", "05971", "06/07/2022", 12],
                             ["T2", "5971", "07/07/2022", "mười"]]):
        sheet.write_row(r, 0, row)
    book.close()
    report = log_files(campaign, store, "outreach", [path], clock=frozen_clock)
    counts = report.files[str(path)]
    assert (counts.kind, counts.read, counts.accepted, counts.rejected) == ("visit", 2, 1, 1)
    (rejection,) = report.rejections[str(path)]
    assert rejection.where == f"{path}:3" and rejection.column == "Số hộ"


def test_a_header_that_fits_no_record_kind_is_a_located_error(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "odd.csv", "# comment\nfoo,bar\n1,2\n")
    with pytest.raises(DataError) as info:
        log_files(campaign, store, "visual", [path], clock=frozen_clock)
    assert f"{path}:2" in str(info.value) and "placement: missing column(s)" in str(info.value)


def test_a_channel_without_activity_is_a_configuration_error(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    with pytest.raises(ConfigError, match="no channel 'radio'"):
        log_files(campaign, store, "radio", [], clock=frozen_clock)


def test_records_from_code(campaign: Campaign, store: SqliteActivityStore, frozen_clock: FrozenClock) -> None:
    good = TeamVisit(team="T2", commune="5971", date=dt.date(2022, 7, 6), households=3)
    wrong_kind = PressItem(outlet="Báo A", date=dt.date(2022, 7, 6), title="x", audience=1)
    unknown_team = TeamVisit(team="T9", commune="5971", date=dt.date(2022, 7, 6), households=3)
    counts = log_records(campaign, store, "outreach", [good, wrong_kind, unknown_team, good],
                         clock=frozen_clock, source="app")
    assert (counts.read, counts.accepted, counts.duplicates, counts.rejected) == (4, 1, 1, 2)
    assert [r.where for r in store.rejections("outreach")] == ["app[1]", "app[2]"]
