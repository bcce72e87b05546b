"""The outreach channel counts each member of the teams file once, namesakes included,
and keeps no state between campaigns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from langson_comms import Campaign, Runtime
from langson_comms.activity.log import activity_status, log_files
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.clock import FrozenClock

from .conftest import CAMPAIGN, write

NAMESAKES = """team_code,team_name,commune_code,member_name,member_phone,trained
T1,Team one,5971,Lan,,no
T1,Team one,5971,Minh,,no
T1,Team one,5971,minh ,,no
T2,Team two,5971,Hoa,,yes
"""


def namesakes_campaign(runtime: Runtime, folder: Path, teams: str = NAMESAKES) -> Campaign:
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "teams.csv", teams)
    return runtime.load_campaign(write(folder / "campaign.toml", CAMPAIGN))


def test_namesakes_in_one_team_are_two_members_and_one_record_dates_both(
        runtime: Runtime, store: SqliteActivityStore, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    """Left_b: members were keyed by team and name, so the reference teams file's 857
    members counted 851 (namesakes within a team counted once)."""
    campaign = namesakes_campaign(runtime, tmp_path / "c")
    assert activity_status(campaign, store).summaries["training"] == {
        "members": 4, "trained": 1, "percent": 25.0}
    path = write(tmp_path / "training.csv", "member,team,date\n"
                                            "Lan,T1,2022-07-01\n"
                                            "Minh,T1,2022-07-06\n"
                                            "Minh,T1,2022-07-06\n")  # the namesake, same day
    counts = log_files(campaign, store, "outreach", [path], clock=frozen_clock).files[str(path)]
    assert (counts.accepted, counts.duplicates) == (2, 1)
    # the records know members by name: one record of "Minh" dates both Minhs of T1
    assert activity_status(campaign, store).summaries["training"] == {
        "members": 4, "trained": 4, "percent": 100.0}
    early = activity_status(campaign, store, end=dt.date(2022, 7, 5)).summaries["training"]
    assert early == {"members": 4, "trained": 2, "percent": 50.0}
