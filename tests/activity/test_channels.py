"""Each built-in channel's reach and cadence on a small hand-built log, answers worked out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from langson_comms import Campaign
from langson_comms.activity.log import activity_status, log_files
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.clock import FrozenClock
from langson_comms.reach import reach_records

from .conftest import write

D = dt.date


def log(campaign: Campaign, store: SqliteActivityStore, key: str, path: Path, clock: FrozenClock) -> None:
    report = log_files(campaign, store, key, [path], clock=clock)
    assert report.ok, report.rejections


def test_press_reach_methods_and_weekly_gaps_per_outlet_and_in_total(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    # Báo A: weeks 1 and 3; Đài B: weeks 1 and 2 -> A misses week 2, B misses week 3; total none.
    path = write(tmp_path / "press.csv",
                 "outlet,date,title,kind,audience,print run\n"
                 "Báo A,2022-07-05,Cài app,article,1000,\n"
                 "Báo A,21/07/2022,Mở tài khoản,article,,400\n"
                 "Đài B,2022-07-06,Bản tin,radio,,\n"
                 "Đài B,2022-07-13,Bản tin 2,truyền hình,,\n")
    log(campaign, store, "press", path, frozen_clock)
    records = sorted(reach_records(campaign, activity=store, channels=["press"]), key=lambda r: r.day)
    assert [(r.day, r.count) for r in records] == [
        (D(2022, 7, 5), 1000), (D(2022, 7, 6), 500), (D(2022, 7, 13), 500), (D(2022, 7, 21), 1000)]
    assert records[3].method == "print run × 2.5 readers per copy"
    assert records[1].method == "default audience of Đài B (campaign file)"
    assert records[0].source == f"{path}:2"
    status = activity_status(campaign, store).as_dict()["channels"]["press"]
    assert status["reach"] == 3000 and status["records"] == 4
    gaps = [(g["group"], g["from"], g["to"], g["found"]) for g in status["cadence_gaps"]]
    assert gaps == [("Báo A", "2022-07-11", "2022-07-17", 0), ("Đài B", "2022-07-18", "2022-07-24", 0)]


def test_visual_reach_every_day_of_the_placement_and_clip(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    boards = write(tmp_path / "boards.csv",
                   "medium,location,unit,district,start,end,daily audience\n"
                   "board,Ngã tư Phai Vệ,UBND TP,178,2022-07-05,2022-07-07,100\n")
    clips = write(tmp_path / "clips.csv",
                  "clip,screen,start,end,plays per day\n"
                  "Clip 1,Màn hình LED quảng trường,2022-07-23,2022-07-30,2\n")
    log(campaign, store, "visual", boards, frozen_clock)
    log(campaign, store, "visual", clips, frozen_clock)
    records = list(reach_records(campaign, activity=store, channels=["visual"]))
    # 3 days × 100; the clip's days inside the campaign (23, 24) × 2 plays × 30 viewers.
    assert sum(r.count for r in records) == 300 + 2 * 60
    assert {r.district_code for r in records if r.count == 100} == {"178"}
    status = activity_status(campaign, store).as_dict()
    assert status["channels"]["visual"]["reach"] == 420
    assert status["channels"]["visual"]["warnings"] == ["2 video clip(s) planned, 1 logged"]
    assert status["reach_by_district"] == {"178": 300, "unknown": 120}


def test_social_reach_views_else_members_and_days_without_a_post(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    path = write(tmp_path / "social.csv",
                 "platform,page,date,link,views,members\n"
                 "facebook,Trang CQĐT,2022-07-04,https://fb/1,50,\n"
                 "zalo,Nhóm tổ T1,2022-07-05,,,20\n"
                 "zalo,Nhóm tổ T1,2022-07-10,,7,20\n")
    log(campaign, store, "social", path, frozen_clock)
    status = activity_status(campaign, store).as_dict()["channels"]["social"]
    assert status["reach"] == 50 + 20 + 7
    assert [(g["from"], g["to"]) for g in status["cadence_gaps"]] == [
        ("2022-07-06", "2022-07-09"), ("2022-07-11", "2022-07-24")]
    methods = {r.method for r in reach_records(campaign, activity=store, channels=["social"])}
    assert methods == {"views reported by Facebook", "views reported by Zalo",
                       "members of the group (no views reported)"}


def test_outreach_reach_training_share_and_untrained_visit_warnings(
        campaign: Campaign, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    training = write(tmp_path / "training.csv",
                     "Họ tên,Mã tổ,Ngày tập huấn,Người tập huấn\n"
                     "Lan,T1,01/07/2022,Sở TTTT\n"
                     "Minh,T1,10/07/2022,Sở TTTT\n")
    visits = write(tmp_path / "visits.csv",
                   "Mã tổ,Mã xã,Ngày,Số hộ,Số người được hướng dẫn,Số lượt cài đặt\n"
                   "T1,5971,2022-07-05,30,45,12\n"        # Minh not trained yet: a warning
                   "T1,5971,2022-07-12,20,,5\n"           # all trained: reach = 20 households
                   "T2,5971,2022-07-05,10,12,3\n")        # Hoa trained per the teams file
    log(campaign, store, "outreach", training, frozen_clock)
    log(campaign, store, "outreach", visits, frozen_clock)
    status = activity_status(campaign, store).as_dict()
    outreach = status["channels"]["outreach"]
    assert outreach["reach"] == 45 + 20 + 12
    # records are counted in the period asked for: Lan trained before the campaign began
    assert outreach["records_by_kind"] == {"training": 1, "visit": 3}
    assert outreach["warnings"] == ["1 visit(s) of team T1 on 2022-07-05: 1 member(s) not trained yet"]
    assert status["training"] == {"members": 3, "trained": 3, "percent": 100.0}
    assert status["reach_by_district"] == {"178": 77}
    early = activity_status(campaign, store, end=D(2022, 7, 8)).as_dict()
    assert early["training"] == {"members": 3, "trained": 2, "percent": 66.7}
    assert early["channels"]["outreach"]["reach"] == 57
