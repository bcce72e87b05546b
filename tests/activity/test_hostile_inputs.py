"""What a careless or hostile user does to ``activity log``/``status`` (review of issue 10)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pendulum
import pytest

from langson_comms import Campaign, Runtime
from langson_comms.activity.log import activity_status, log_files, log_records
from langson_comms.activity.store import ActivityRejection, SqliteActivityStore, row_digest
from langson_comms.api import log_activity, read_activity_status
from langson_comms.campaign import Period
from langson_comms.clock import FrozenClock
from langson_comms.default_plugins.activity_records import TeamVisit
from langson_comms.errors import ConfigError, DataError
from langson_comms.reach import reach_records

from .conftest import write, write_campaign
from .test_cli import run


def test_relogging_a_file_does_not_count_its_rejections_twice(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "press.csv",
                 "outlet,date,title,audience\nBáo A,2022-07-05,a,100\nBáo A,2022-07-05,b,x\nBáo A,2022-13-05,c,1\n")
    first = log_files(campaign, store, "press", [path], clock=frozen_clock).files[str(path)]
    again = log_files(campaign, store, "press", [path], clock=frozen_clock).files[str(path)]
    assert (first.rejected, again.rejected) == (2, 2)  # each run reports what it read
    assert len(store.rejections("press")) == 2  # but the store keeps each bad row once
    assert activity_status(campaign, store).rejected == 2


def test_two_columns_for_one_field_are_refused_at_the_header(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # "views" and "reach" are both headers of the post's views: which one counts?
    path = write(tmp_path / "posts.csv",
                 "platform,page,date,views,reach\nfacebook,P,2022-07-05,10,9000\n")
    with pytest.raises(DataError) as info:
        log_files(campaign, store, "social", [path], clock=frozen_clock)
    message = str(info.value)
    assert f"{path}:1" in message and "views" in message and "reach" in message
    assert store.rejections() == [] and activity_status(campaign, store).reach == 0


def test_a_missing_or_unfit_file_among_several_stops_before_anything_is_logged(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    good = write(tmp_path / "good.csv", "outlet,date,title,audience\nBáo A,2022-07-05,a,100\n")
    odd = write(tmp_path / "odd.csv", "foo,bar\n1,2\n")
    for bad in (tmp_path / "missing.csv", odd):
        with pytest.raises(DataError, match=bad.name):
            log_files(campaign, store, "press", [good, bad], clock=frozen_clock)
        # not "good.csv logged but never reported": the run is refused before any file is read
        assert activity_status(campaign, store).channels["press"]["records"] == 0


def test_an_unknown_kind_is_a_configuration_error_naming_the_known_ones(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    good = write(tmp_path / "good.csv", "outlet,date,title,audience\nBáo A,2022-07-05,a,100\n")
    with pytest.raises(ConfigError, match=r"no record kind 'visit'.*known: item"):
        log_files(campaign, store, "press", [good], clock=frozen_clock, kind="visit")


def test_cli_refusals_exit_2_without_logging(tmp_path: Path) -> None:
    write_campaign(tmp_path)
    write(tmp_path / "press.csv", "outlet,date,title,audience\nBáo A,2022-07-05,a,100\n")
    kind = run("log", "press", "press.csv", "--kind", "visit", cwd=tmp_path)
    assert kind.returncode == 2 and "known: item" in kind.stderr and "unexpected" not in kind.stderr
    missing = run("log", "press", "press.csv", "missing.csv", "--json", cwd=tmp_path)
    assert missing.returncode == 2 and "missing.csv: file not found" in missing.stderr
    status = run("status", "--json", cwd=tmp_path)
    assert json.loads(status.stdout)["channels"]["press"]["records"] == 0


def test_a_placement_running_over_the_campaign_counts_reach_only_inside_it(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # the campaign runs 2022-07-04..07-24; the board shows from 06-20 to 07-10: 7 campaign days
    path = write(tmp_path / "boards.csv",
                 "medium,location,start,end,daily audience\nboard,Chợ Đông Kinh,2022-06-20,2022-07-10,100\n")
    assert log_files(campaign, store, "visual", [path], clock=frozen_clock).ok
    wide = Period(pendulum.Date(2022, 6, 1), pendulum.Date(2022, 8, 31))
    assert sum(r.count for r in reach_records(campaign, wide, activity=store)) == 700
    status = activity_status(campaign, store, start=dt.date(2022, 6, 1), end=dt.date(2022, 8, 31))
    assert status.channels["visual"]["reach"] == 700


def test_status_beyond_the_campaign_shows_no_cadence_gaps_outside_it(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    status = activity_status(campaign, store, start=dt.date(2022, 7, 18), end=dt.date(2022, 8, 14))
    for key in ("press", "social", "outreach"):
        gaps = status.channels[key]["cadence_gaps"]
        assert gaps and all(g["to"] <= "2022-07-24" for g in gaps), (key, gaps)
    assert activity_status(campaign, store, start=dt.date(2023, 1, 1),
                           end=dt.date(2023, 1, 31)).channels["press"]["cadence_gaps"] == []


def test_rejections_by_the_channel_name_the_column(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    cases = {
        "press": ("Báo,Ngày,Tiêu đề\nBáo Z,2022-07-05,a\nBáo A,2022-07-05,b\n", ["Báo", "audience"]),
        "social": ("Nền tảng,Trang,Ngày,Lượt xem\ntiktok,P,2022-07-05,3\n", ["Nền tảng"]),
        "outreach": ("Mã tổ,Mã xã,Ngày,Số hộ\nT9,5971,2022-07-05,3\nT2,9999,2022-07-05,3\n", ["Mã tổ", "Mã xã"]),
        "visual": ("clip,screen,start,end,plays per day\nC,S,2022-07-05,2022-07-06,4\n", []),
    }
    for key, (content, columns) in cases.items():
        path = write(tmp_path / f"{key}.csv", content)
        report = log_files(campaign, store, key, [path], clock=frozen_clock)
        assert [r.column for r in report.rejections[str(path)]] == columns, (key, report.rejections)


def test_the_store_is_never_an_input(runtime: Runtime, tmp_path: Path) -> None:
    campaign = runtime.load_campaign(write_campaign(tmp_path))
    empty = write(tmp_path / "empty.csv", "")  # SQLite would happily turn it into a database
    for store in (empty, tmp_path / "campaign.toml", tmp_path / "teams.csv"):
        before = store.read_bytes()
        with pytest.raises(ConfigError, match="never overwrites an input"):
            log_activity(campaign, "press", [empty], store=store)
        if store != empty:  # status reads no FILE; the campaign's files are its inputs
            with pytest.raises(ConfigError, match="never overwrites an input"):
                read_activity_status(campaign, store=store)
        assert store.read_bytes() == before


def test_status_of_a_store_that_does_not_exist_is_an_error_not_zeros(runtime: Runtime, tmp_path: Path) -> None:
    campaign = runtime.load_campaign(write_campaign(tmp_path))
    typo = tmp_path / "activty.sqlite"
    with pytest.raises(ConfigError, match="no activity store"):
        read_activity_status(campaign, store=typo)
    assert not typo.exists()
    assert read_activity_status(campaign).reach == 0  # the default store: nothing logged yet


def test_cli_store_given_as_the_file_to_log_exits_2_and_leaves_it_alone(tmp_path: Path) -> None:
    write_campaign(tmp_path)
    write(tmp_path / "empty.csv", "")
    done = run("log", "press", "empty.csv", "--store", "empty.csv", cwd=tmp_path)
    assert done.returncode == 2 and "never overwrites an input" in done.stderr, done.stderr
    assert (tmp_path / "empty.csv").read_bytes() == b""


def test_a_phone_number_in_a_count_or_date_column_is_rejected_and_not_repeated(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # a column pasted one to the side: the phone numbers land under "people helped" and "date"
    path = write(tmp_path / "visits.csv",
                 "team,commune,date,households,people helped\n"
                 "T2,5971,2022-07-05,3,0912345678\n"
                 "T2,5971,2022-07-06,3,912 345 678\n"
                 "T2,5971,0912.345.678,3,4\n"
                 "T2,5971,2022-07-07,3,4\n")
    report = log_files(campaign, store, "outreach", [path], clock=frozen_clock)
    counts = report.files[str(path)]
    assert (counts.accepted, counts.rejected) == (1, 3)
    assert activity_status(campaign, store).channels["outreach"]["reach"] == 4
    text_ = " ".join(r.format() for r in store.rejections())
    assert "people helped" in text_ and "date" in text_
    for digits in ("912345678", "912 345 678", "0912.345.678", "345"):
        assert digits not in text_, text_


def test_training_of_a_name_not_in_the_team_is_rejected_not_counted_as_a_new_member(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # teams file: T1 = Lan, Minh (not trained); T2 = Hoa (trained)
    path = write(tmp_path / "training.csv",
                 "member,team,date\n"
                 "Lann,T1,2022-07-01\n"            # a typo of Lan: not a new, trained member
                 "  minh ,T1,2022-07-01\n"          # Minh, as written otherwise
                 "Hoa,T1,2022-07-01\n")             # Hoa is in T2, not T1
    report = log_files(campaign, store, "outreach", [path], clock=frozen_clock)
    counts = report.files[str(path)]
    assert (counts.accepted, counts.rejected) == (1, 2)
    assert [(r.where.rsplit(":", 1)[1], r.column) for r in report.rejections[str(path)]] == [
        ("2", "member"), ("4", "member")]
    assert activity_status(campaign, store).summaries["training"] == {"members": 3, "trained": 2,
                                                                       "percent": 66.7}


def test_posts_logged_with_their_group_link_are_not_duplicates_of_each_other(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # Zalo group posts have no permalink of their own: units paste the group's link
    path = write(tmp_path / "posts.csv",
                 "platform,page,date,link,members\n"
                 "zalo,Nhóm T1,2022-07-05,https://zalo.me/g/t1,120\n"
                 "zalo,Nhóm T1,2022-07-06,https://zalo.me/g/t1,120\n"
                 "zalo,Nhóm T1,2022-07-06,https://zalo.me/g/t1,120\n")  # the same row again
    counts = log_files(campaign, store, "social", [path], clock=frozen_clock).files[str(path)]
    assert (counts.accepted, counts.duplicates) == (2, 1)
    assert activity_status(campaign, store).channels["social"]["reach"] == 240


def test_a_file_given_twice_in_one_run_is_logged_and_reported_once(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "press.csv", "outlet,date,title,audience\nBáo A,2022-07-05,a,100\n")
    report = log_files(campaign, store, "press", [path, tmp_path / "." / "press.csv", path],
                       clock=frozen_clock)
    assert [(c.read, c.accepted, c.duplicates) for c in report.files.values()] == [(1, 1, 0)]
    assert (report.totals.read, report.totals.accepted) == (1, 1)


def test_a_different_bad_row_at_the_same_place_is_kept_as_a_rejection_of_its_own(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # the unit rewrites press.csv every week; line 2 is short both times, for the same reason
    path = tmp_path / "press.csv"
    for week in ("2022-07-05", "2022-07-12"):
        write(path, f"outlet,date,title,audience\nBáo A,{week}\n")
        log_files(campaign, store, "press", [path], clock=frozen_clock)
    assert len(store.rejections("press")) == 2
    visit = TeamVisit(team="T9", commune="5971", date=dt.date(2022, 7, 6), households=3)
    other = TeamVisit(team="T9", commune="5971", date=dt.date(2022, 7, 7), households=3)
    for record in (visit, other, visit):  # an app logs one record a call, always as app[0]
        log_records(campaign, store, "outreach", [record], clock=frozen_clock, source="app")
    assert len(store.rejections("outreach")) == 2


def test_a_store_made_before_rejection_digests_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE rejections (id INTEGER PRIMARY KEY, channel_key TEXT NOT NULL, location TEXT NOT NULL,"
                " column_name TEXT, reason TEXT NOT NULL, stored_at REAL NOT NULL)")
    old.execute("INSERT INTO rejections VALUES (1, 'press', 'a.csv:2', NULL, 'old', 0)")
    old.commit()
    old.close()
    with SqliteActivityStore(path) as store:
        bad = ActivityRejection("a.csv:3", "new", digest=row_digest("x"))
        store.store_batch("press", [], [bad, bad], 1.0)
        assert [r.reason for r in store.rejections("press")] == ["old", "new"]


def test_the_store_interface_holds_every_method_the_kpis_call() -> None:
    # a PostgreSQL store implementing ActivityStore must be enough for measure()
    from langson_comms.activity.store import ActivityStore

    for name in ("reach_totals", "day_counts", "reach", "store_batch"):
        assert callable(getattr(ActivityStore, name, None)), name
