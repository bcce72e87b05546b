"""A report's period must meet the campaign's dates: ``--from 1900-01-01`` was accepted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from langson_comms import FrozenClock, Runtime
from langson_comms.errors import ConfigError
from langson_comms.kpi import report_period

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022"
D = pendulum.Date


@pytest.mark.parametrize(("start", "end", "option"), [
    (D(1900, 1, 1), None, "start"),
    (D(2022, 6, 9), D(2022, 7, 1), "start"),   # a day before the start
    (D(2023, 1, 1), None, "start"),            # after the end
    (D(2023, 1, 1), D(2023, 2, 1), "start"),
    (None, D(2021, 1, 1), "end"),              # ends before the campaign starts
])
def test_a_period_outside_the_campaign_is_a_located_error(
    runtime: Runtime, start: pendulum.Date | None, end: pendulum.Date | None, option: str
) -> None:
    campaign = runtime.load_campaign(REFERENCE / "campaign.toml")
    clock = FrozenClock(pendulum.datetime(2022, 8, 1, tz="Asia/Ho_Chi_Minh"))
    with pytest.raises(ConfigError) as info:
        report_period(campaign, clock, start, end)
    text = str(info.value)
    assert info.value.key == option and "--" not in text  # the API's names; the CLI's flags
    assert "2022-06-10" in text and "2022-12-31" in text


def test_periods_within_the_campaign_are_accepted(runtime: Runtime) -> None:
    campaign = runtime.load_campaign(REFERENCE / "campaign.toml")
    clock = FrozenClock(pendulum.datetime(2022, 8, 1, tz="Asia/Ho_Chi_Minh"))
    assert report_period(campaign, clock, D(2022, 6, 10), D(2022, 12, 31)).end == D(2022, 12, 31)
    assert report_period(campaign, clock).start == D(2022, 6, 10)
    assert report_period(campaign, clock, None, D(2022, 7, 20)).end == D(2022, 7, 20)


def test_report_from_1900_exits_2_naming_the_option_and_the_campaigns_dates(tmp_path: Path) -> None:
    folder = tmp_path / "langson_2022"
    shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns(".langson", "out"))
    done = subprocess.run([sys.executable, "-m", "langson_comms", "report", "--from", "1900-01-01"], cwd=folder,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--from" in done.stderr and "2022-06-10" in done.stderr and "Traceback" not in done.stderr
