"""The outreach channel counts each member of the teams file once, namesakes included,
and keeps no state between campaigns."""

from __future__ import annotations

import datetime as dt
import gc
import weakref
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


def test_two_campaigns_in_one_process_keep_their_own_team_codes(
        runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    """Left_b: the outreach channel memoised team codes in a module-level list shared by
    every campaign of the process (and kept their teams alive after the campaigns)."""
    first = namesakes_campaign(runtime, tmp_path / "a")
    second = namesakes_campaign(runtime, tmp_path / "b", "team_code,team_name,commune_code,member_name,"
                                                          "member_phone,trained\nT9,Team nine,5971,Mai,,yes\n")
    visits = write(tmp_path / "visits.csv", "team,commune,date,households\n"
                                            "T1,5971,2022-07-05,3\n"
                                            "T9,5971,2022-07-05,4\n")
    for i, (campaign, line) in enumerate(((first, 3), (second, 2), (first, 3), (second, 2))):
        with SqliteActivityStore(tmp_path / f"{i}.sqlite") as store:
            report = log_files(campaign, store, "outreach", [visits], clock=frozen_clock)
            assert (report.totals.accepted, report.totals.rejected) == (1, 1)
            assert [r.where for r in report.rejections[str(visits)]] == [f"{visits}:{line}"]
    team = weakref.ref(first.teams[0])
    del first, campaign
    gc.collect()
    assert team() is None, "a campaign's teams outlived it"
