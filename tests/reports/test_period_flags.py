"""A period outside the campaign: the API's error names its parameters (``start``/``end``),
the ``report`` and ``dashboard`` commands show them as ``--from``/``--to`` (issue-16 rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import reference_copy
from .test_cli import run


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reference_copy(tmp_path_factory.mktemp("period"))


@pytest.mark.parametrize("command", [("report",), ("dashboard", "--port", "0")])
@pytest.mark.parametrize(("flag", "day", "says"), [
    ("--from", "1900-01-01", "1900-01-01 is before the campaign starts (2022-06-10)"),
    ("--to", "2030-01-01", "2030-01-01 is after the campaign ends (2022-12-31)"),
])
def test_a_day_outside_the_campaign_names_the_cli_flag(campaign: Path, command: tuple[str, ...],
                                                       flag: str, day: str, says: str) -> None:
    done = run(*command, flag, day, cwd=campaign.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {flag}: {says}" in done.stderr, done.stderr
    assert "start:" not in done.stderr and "end:" not in done.stderr


def test_a_report_ending_before_it_starts_names_to(campaign: Path) -> None:
    done = run("report", "--from", "2022-07-08", "--to", "2022-07-03", cwd=campaign.parent)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "error: --to: the report would end (2022-07-03) before it starts" in done.stderr
