"""``langson-comms report`` and ``leaderboard`` run as a user runs them: subprocesses on the
reference campaign after ``signups ingest``."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022"
ENV = {"LANGSON_COMMS_PSEUDONYM_KEY": "kpi-test-key-0123456789abcdef"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "langson_comms", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **ENV, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "langson_2022"
    shutil.copytree(REFERENCE, path, ignore=shutil.ignore_patterns(".langson", "out"))
    done = run("signups", "ingest", "--no-progress", cwd=path)
    assert done.returncode == 0, done.stderr
    return path


def test_report_json_after_ingest(folder: Path) -> None:
    done = run("report", "--format", "json", "--to", "2022-07-20", cwd=folder)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["kpis"]) == {"reaches", "installs", "population", "teams_trained", "leaderboard"}
    for kpi in report["kpis"].values():
        assert {"value", "target", "progress", "method"} <= set(kpi) and kpi["method"]
    with sqlite3.connect(folder / ".langson" / "signups.sqlite") as db:
        installs = db.execute("SELECT count(*) FROM signups WHERE kind='install' AND day BETWEEN"
                              " '2022-06-10' AND '2022-07-20'").fetchone()[0]
        by_team = dict(db.execute("SELECT team_code, count(*) FROM signups WHERE kind='install' AND"
                                  " team_code IS NOT NULL AND day <= '2022-07-20' GROUP BY 1").fetchall())
        on_day = dict(db.execute("SELECT team_code, count(*) FROM signups WHERE kind='install' AND"
                                 " team_code IS NOT NULL AND day = '2022-07-20' GROUP BY 1").fetchall())
    assert installs > 0
    installs_kpi = report["kpis"]["installs"]
    assert installs_kpi["value"] == installs and installs_kpi["target"] == 24_000
    assert installs_kpi["progress"] == pytest.approx(installs / 24_000)
    board = report["leaderboard"]
    assert [row["rank"] for row in board] == sorted(row["rank"] for row in board)
    assert {row["team_code"]: row["installs"] for row in board if row["installs"]} == by_team
    assert {row["team_code"]: row["installs_day"] for row in board if row["installs_day"]} == on_day
    assert report["attribution"]["installs"] == installs


def test_report_text_and_out_folder(folder: Path, tmp_path: Path) -> None:
    done = run("report", "--to", "2022-07-20", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "KPIs" in done.stdout and "Leaderboard 2022-07-20" in done.stdout
    done = run("report", "--format", "json", "--to", "2022-07-20", "--out", str(tmp_path / "r"), cwd=folder)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))["as_of"] == "2022-07-20"


def test_report_bad_dates_exit_2(folder: Path) -> None:
    done = run("report", "--to", "20/07/2022", cwd=folder)
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr
    done = run("report", "--from", "2022-08-01", "--to", "2022-07-01", cwd=folder)
    assert done.returncode == 2 and "before it starts" in done.stderr
    done = run("report", "--from", "1900-01-01", cwd=folder)  # review11: was a report from 1900
    assert done.returncode == 2 and "--from: 1900-01-01 is before the campaign starts" in done.stderr
    done = run("report", "--to", "2030-01-01", cwd=folder)
    assert done.returncode == 2 and "--to: 2030-01-01 is after the campaign ends" in done.stderr


def test_leaderboard_text_csv_xlsx(folder: Path, tmp_path: Path) -> None:
    done = run("leaderboard", "--day", "2022-07-20", cwd=folder)
    assert done.returncode == 0, done.stderr
    messages = done.stdout.rstrip("\n").split("\n\n-----\n\n")
    assert all(len(m) < 2000 for m in messages)
    assert messages[0].startswith("BẢNG XẾP HẠNG TỔ CÔNG NGHỆ SỐ\n")
    done = run("leaderboard", "--day", "2022-07-20", "--format", "csv", "--out", str(tmp_path / "b.csv"),
               cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.csv").read_bytes().startswith(b"\xef\xbb\xbfrank,")
    done = run("leaderboard", "--day", "2022-07-20", "--format", "xlsx", cwd=folder)
    assert done.returncode == 2 and "--out" in done.stderr


@pytest.mark.parametrize("fmt", ["text", "csv", "xlsx"])
def test_leaderboard_out_never_overwrites_an_input(folder: Path, fmt: str) -> None:
    """``leaderboard --out teams.csv`` overwrote the campaign's teams file (and --out
    could name the campaign file or a store): refused with exit 2, nothing written."""
    for name in ("teams.csv", "campaign.toml", ".langson/signups.sqlite"):
        before = (folder / name).read_bytes()
        done = run("leaderboard", "--day", "2022-07-20", "--format", fmt, "--out", name, cwd=folder)
        assert done.returncode == 2, done.stderr
        assert "an output never overwrites an input" in done.stderr
        assert (folder / name).read_bytes() == before
