"""``langson_comms.reports.write_reports`` from Python: a careless format list or output
folder is a located ``ConfigError`` saying what was expected, and nothing is written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pendulum
import pytest

from langson_comms import ConfigError, FrozenClock, Measurement, Runtime, api, build_campaign
from langson_comms.reports import write_reports


def _measurement(folder: Path) -> Measurement:
    campaign = build_campaign({
        "campaign": {"id": "py", "title": "Py", "start": dt.date(2022, 6, 10),
                     "end": dt.date(2022, 12, 31)},
        "targets": {"reaches": {"kind": "reach", "target": 100}},
    }, runtime=Runtime.create(entry_points=False, env={}), base_dir=folder)
    clock = FrozenClock(pendulum.datetime(2022, 7, 1, tz="Asia/Ho_Chi_Minh"))
    return api.measure_campaign(campaign, clock=clock, env={})


def test_one_format_as_text_is_that_format(tmp_path: Path) -> None:
    paths = write_reports(_measurement(tmp_path), tmp_path / "out", "html")
    assert [p.name for p in paths] == ["report.html"]


@pytest.mark.parametrize("formats", [["pdf"], ["html", "HTML"]])
def test_an_unknown_format_is_refused_before_anything_is_written(tmp_path: Path,
                                                                 formats: list[str]) -> None:
    with pytest.raises(ConfigError, match=r"expected one of text, md, html, json, xlsx"):
        write_reports(_measurement(tmp_path), tmp_path / "out", formats)
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "report").write_text("mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file"):
        write_reports(_measurement(tmp_path), tmp_path / "report", ["md"])
    assert (tmp_path / "report").read_text(encoding="utf-8") == "mine\n"
