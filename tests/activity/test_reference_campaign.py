"""The reference campaign logs its SAMPLE activity cleanly and shows the planted gaps and late training."""

from __future__ import annotations

from pathlib import Path

from langson_comms import FrozenClock, Runtime
from langson_comms.activity.log import activity_status, log_files
from langson_comms.activity.store import SqliteActivityStore

EXAMPLE = Path(__file__).parents[2] / "examples" / "langson_2022"
LOGS = {"press": ["press.csv"], "visual": ["placements.xlsx", "clips.csv"], "social": ["social.csv"],
        "outreach": ["training.csv", "visits.csv"]}


def test_reference_campaign_logs_its_sample_activity(runtime: Runtime, tmp_path: Path,
                                                     frozen_clock: FrozenClock) -> None:
    campaign = runtime.load_campaign(EXAMPLE / "campaign.toml")
    with SqliteActivityStore(tmp_path / "activity.sqlite") as store:
        for key, files in LOGS.items():
            report = log_files(campaign, store, key, [EXAMPLE / "activity" / f for f in files], clock=frozen_clock)
            assert report.ok and report.totals.duplicates == 0, report.rejections
        status = activity_status(campaign, store).as_dict()
    press_gaps = {(g["from"], g["group"]) for g in status["channels"]["press"]["cadence_gaps"]}
    assert {("2022-08-01", None), ("2022-10-17", None)} <= press_gaps and len(press_gaps) == 6
    assert [g["from"] for g in status["channels"]["social"]["cadence_gaps"]] == ["2022-09-02"]
    assert status["channels"]["visual"]["records_by_kind"] == {"clip": 2, "placement": 17}
    assert status["channels"]["outreach"]["warning_count"] > 0
    assert 90 < status["training"]["percent"] < 100
    assert status["reach"] > 5_000_000
