"""Reporting on a campaign built in Python, with no campaign file: ``report_inputs`` needs
no file (the stores the host passed in count too), and the dashboard finds its stores
under ``build_campaign``'s ``base_dir`` or an explicit one, never the current folder."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pendulum
import pytest

from langson_comms import Campaign, FrozenClock, Period, Runtime, api, build_campaign
from langson_comms.errors import ConfigError, OutputClashError
from langson_comms.reports import Dashboard, write_reports

CLOCK = FrozenClock(pendulum.datetime(2022, 7, 1, 9, tz="Asia/Ho_Chi_Minh"))


def _campaign(folder: Path) -> Campaign:
    return build_campaign({
        "campaign": {"id": "py", "title": "Py", "start": dt.date(2022, 6, 10),
                     "end": dt.date(2022, 12, 31)},
        "targets": {"reaches": {"kind": "reach", "target": 100}},
        "signups": {"store": "data/signups.sqlite"},
    }, runtime=Runtime.create(entry_points=False, env={}), base_dir=folder)


def test_report_inputs_of_a_campaign_built_in_python(tmp_path: Path) -> None:
    campaign = _campaign(tmp_path)
    mine = tmp_path / "host" / "activity.sqlite"
    inputs = dict((label, path) for label, path in
                  api.report_inputs(campaign, stores={"activity": mine}))
    assert inputs == {"signups store": tmp_path / "data" / "signups.sqlite",
                      "activity store": mine}
    measurement = api.measure_campaign(campaign, clock=CLOCK, env={})
    clashing = api.report_inputs(campaign, stores={"activity": tmp_path / "out" / "report.json"})
    with pytest.raises(OutputClashError, match="is the input activity store"):
        write_reports(measurement, tmp_path / "out", ["json"], inputs=clashing)
    assert not (tmp_path / "out" / "report.json").exists()
    # a campaign read from its file still names the file and what it names
    (tmp_path / "campaign.toml").write_text(
        '[campaign]\nid = "f"\ntitle = "F"\nstart = 2022-06-10\nend = 2022-12-31\n',
        encoding="utf-8")
    loaded = api.load_campaign(tmp_path / "campaign.toml",
                               runtime=Runtime.create(entry_points=False, env={}))
    assert ("campaign file", tmp_path / "campaign.toml") in api.report_inputs(loaded)


def test_the_dashboard_watches_the_campaigns_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"  # not the current folder
    board = Dashboard(_campaign(folder), clock=CLOCK, port=0)
    assert board.refresh_now() is True
    assert board.refresh_now() is False
    (folder / ".langson").mkdir(parents=True)
    sqlite3.connect(folder / ".langson" / "asrun.sqlite").execute("CREATE TABLE t (x)").connection.close()
    assert board.refresh_now() is True  # a store under base_dir changed


def test_a_campaign_made_by_hand_asks_for_base_dir(tmp_path: Path) -> None:
    campaign = Campaign(id="h", title="H", period=Period(pendulum.date(2022, 6, 10),
                                                         pendulum.date(2022, 12, 31)))
    with pytest.raises(ConfigError) as info:
        Dashboard(campaign, clock=CLOCK, port=0)
    assert info.value.key == "base_dir" and "pass base_dir=" in str(info.value)
    board = Dashboard(campaign, clock=CLOCK, port=0, base_dir=tmp_path)
    assert board.refresh_now() is True
    (tmp_path / ".langson").mkdir()
    (tmp_path / ".langson" / "activity.sqlite").write_bytes(b"")
    assert board.refresh_now() is True  # its activity store is under base_dir
