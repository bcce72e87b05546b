"""Cadence and compliance on the reference campaign with a real activity store: press
weeks missed, social days without a post, and the reach those records give the KPI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum

from langson_comms import FrozenClock, Runtime
from langson_comms.activity.log import log_records
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.campaign import Period
from langson_comms.default_plugins.activity_records import PressItem, SocialPost
from langson_comms.kpi import compliance_of, measure

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022" / "campaign.toml"
OUTLETS = ("Báo Lạng Sơn", "Đài Phát thanh và Truyền hình tỉnh Lạng Sơn")


def test_press_weeks_missed_and_social_days_without_a_post(runtime: Runtime, tmp_path: Path,
                                                           frozen_clock: FrozenClock) -> None:
    campaign = runtime.load_campaign(REFERENCE)
    # 2022-06-10 (Friday) .. 06-19 (Sunday): the week of 06-06 is cut to 10..12, no report;
    # the week of 06-13 has one report per outlet.
    period = Period(pendulum.date(2022, 6, 10), pendulum.date(2022, 6, 19))
    with SqliteActivityStore(tmp_path / "activity.sqlite") as store:
        log_records(campaign, store, "press",
                    [PressItem(outlet=o, date=dt.date(2022, 6, 14), title="Cài Công dân số", audience=1000)
                     for o in OUTLETS], clock=frozen_clock)
        # posts on 10, 11 and 13: days 12 and 14..19 have none (7 days)
        log_records(campaign, store, "social",
                    [SocialPost(platform="zalo", page="Tổ CNSCĐ", date=dt.date(2022, 6, d), views=100)
                     for d in (10, 11, 13)], clock=frozen_clock)
        found = compliance_of(campaign, period, activity=store)
        result = measure(campaign, period, clock=frozen_clock, activity=store)
    assert found.press_weeks_missed == 1
    assert found.social_days_without_post == 7
    assert found.cadence_gaps["social"][0]["from"] == "2022-06-12"
    reach = result.kpis["reaches"]
    assert reach.breakdowns["channel"] == {"press": 2000, "social": 300}
    assert result.compliance is not None and result.compliance.press_weeks_missed == 1
