"""``report`` with every format and ``--for``, and ``dashboard``'s refusals, run as a user
runs them: subprocesses on a copy of the reference campaign."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .helpers import reference_copy, store_install


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "langson_comms", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "NO_COLOR": "1", **(env or {})})


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = reference_copy(tmp_path_factory.mktemp("cli"))
    store_install(path, "cli-1")
    return path


def test_report_folder_every_format(campaign: Path) -> None:
    done = run("report", "--to", "2022-07-20", "--out", "out", cwd=campaign.parent)
    assert done.returncode == 0, done.stderr
    out = campaign.parent / "out"
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md", "report.txt",
                                                     "report.xlsx"]
    figures = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert figures["kpis"]["installs"]["value"] == 1
    assert "| installs | conversion | 1 | 24.000 |" in (out / "report.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    # installs per day and the leaderboard; no reach recorded: no flat 0 reach chart (review11)
    assert html.count('<figure class="chart"') == 2 and '<tr id="kpi-installs">' in html
    with zipfile.ZipFile(out / "report.xlsx") as book:
        assert '<sheet name="installs"' in book.read("xl/workbook.xml").decode()


def test_report_for_a_district_prints_markdown(campaign: Path) -> None:
    done = run("report", "--to", "2022-07-20", "--format", "md", "--for", "district:178", cwd=campaign.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# ") and "Trung tâm huyện 178" in done.stdout


@pytest.mark.parametrize(("args", "says"), [
    (("--for", "mayor"), "not an office of the plan"),
    (("--for", "district:999"), "999 is not a district of the campaign"),  # review11: was a report of zeros
    (("--format", "md", "--format", "html"), "need --out"),
    (("--format", "xlsx"), "needs --out"),
])
def test_report_usage_errors_exit_2(campaign: Path, args: tuple[str, ...], says: str) -> None:
    done = run("report", "--to", "2022-07-20", *args, cwd=campaign.parent)
    assert done.returncode == 2 and says in done.stderr, done.stderr


def test_report_folder_that_cannot_be_made_is_a_located_error(campaign: Path) -> None:
    """Review: a ``--out`` under a file was "unexpected NotADirectoryError … (run with
    --debug)", exit 1; it is a configuration error naming ``out`` and what was expected."""
    (campaign.parent / "a-file").write_text("x", encoding="utf-8")
    done = run("report", "--to", "2022-07-20", "--format", "json", "--out", "a-file/report", cwd=campaign.parent)
    assert done.returncode == 2, done.stderr
    assert "out: cannot make the report folder a-file/report" in done.stderr and "unexpected" not in done.stderr
    assert "expected a folder that can be created and written" in done.stderr


def test_dashboard_elsewhere_than_loopback_without_a_token_exit_2(campaign: Path) -> None:
    done = run("dashboard", "--host", "0.0.0.0", "--port", "0", cwd=campaign.parent,
               env={"LANGSON_DASHBOARD_TOKEN": ""})
    assert done.returncode == 2 and "needs a token" in done.stderr, done.stderr


def test_the_cli_starts_without_importing_what_only_some_commands_need(tmp_path: Path) -> None:
    # matplotlib costs about a second per command, the as-run server's aiohttp.web and xlsxwriter
    # a tenth or two each: only the commands that draw, serve or write a workbook import
    # them, so every other command (the demo runs ~20) does not pay for them
    code = ("import sys, langson_comms.cli, langson_comms.reports; print(sorted(m for m in sys.modules if m in"
            " ('matplotlib', 'xlsxwriter', 'langson_comms.broadcast.asrun_server')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_campaign_with_no_store_yet_says_no_data_not_zero_percent(tmp_path: Path) -> None:
    """Review11: a fresh campaign (no sign-up, no activity, no ledger) printed reach 0, 0.0 %,
    pace 0 %, forecast 0 and coverage 0.0 % as if measured."""
    path = reference_copy(tmp_path)
    done = run("report", "--to", "2022-07-20", cwd=path.parent, env={"COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if line.count("│") > 5}
    for key in ("reaches", "installs", "population", "leaderboard"):
        assert "no data yet" in rows[key] and "0.0%" not in rows[key], rows[key]
    assert "95.3 %" in rows["teams_trained"]  # from the teams file: a figure
    assert "no sign-up recorded yet" in done.stdout and ";  ;" not in done.stdout
    done = run("report", "--to", "2022-07-20", "--format", "md", cwd=path.parent)
    assert "| installs | conversion | chưa có số liệu |" in done.stdout
