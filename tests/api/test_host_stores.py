"""A campaign built in Python keeps its activity store under its ``base_dir`` (never in
the current folder, never in a folder named after ``source``), and ``measure_campaign``
counts what ``log_activity`` stored, wherever the host put it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pendulum
import pytest

from langson_comms import FrozenClock, Runtime, api, build_campaign

PRESS = ("outlet,date,title,kind,link,audience,print run\n"
         "Báo Lạng Sơn,2022-06-10,Bài 1,article,,,4000\n"
         "Báo Lạng Sơn,2022-06-17,Bài 2,article,,,2000\n")
CLOCK = FrozenClock(pendulum.datetime(2022, 7, 1, 9, tz="Asia/Ho_Chi_Minh"))
PERIOD = {"start": pendulum.date(2022, 6, 10), "end": pendulum.date(2022, 6, 30)}


def _data() -> dict[str, Any]:
    return {
        "campaign": {"id": "py", "title": "Built in Python", "start": dt.date(2022, 6, 10),
                     "end": dt.date(2022, 12, 31)},
        "channels": {"press": {"kind": "press", "outlets": ["Báo Lạng Sơn"],
                               "min_reports_per_week": 1, "readers_per_copy": 2.5}},
        "targets": {"reaches": {"kind": "reach", "target": 1_000_000}},
    }


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The host's current folder, which the library must leave alone."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_a_python_campaign_keeps_its_activity_store_under_base_dir(tmp_path: Path,
                                                                   elsewhere: Path) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (folder / "press.csv").write_text(PRESS, encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={})
    campaign = build_campaign(_data(), runtime=runtime, source="db:campaigns/7", base_dir=folder)
    assert api.activity_store_path(campaign) == folder.resolve() / ".langson" / "activity.sqlite"

    logged = api.log_activity(campaign, "press", [folder / "press.csv"], clock=CLOCK)
    assert logged.totals.accepted == 2
    measured = api.measure_campaign(campaign, clock=CLOCK, env={}, **PERIOD)
    assert measured.kpis["reaches"].value == 15_000  # (4000 + 2000) copies × 2.5 readers
    assert list(elsewhere.iterdir()) == []


def test_measure_campaign_reads_the_activity_store_the_host_chose(tmp_path: Path,
                                                                 elsewhere: Path) -> None:
    (tmp_path / "press.csv").write_text(PRESS, encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={})
    campaign = build_campaign(_data(), runtime=runtime, base_dir=tmp_path)
    store = tmp_path / "host" / "activity.sqlite"
    store.parent.mkdir()
    api.log_activity(campaign, "press", [tmp_path / "press.csv"], clock=CLOCK, store=store)
    measured = api.measure_campaign(campaign, clock=CLOCK, env={}, activity_store=store, **PERIOD)
    assert measured.kpis["reaches"].value == 15_000
    assert not any("activity store" in note for note in measured.notes)
    assert list(elsewhere.iterdir()) == []
