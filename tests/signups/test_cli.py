"""``langson-comms signups`` run as a user runs it: a subprocess, JSON, exit codes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from .conftest import ENV, write_campaign

APP = '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["app.csv"]\n'


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langson_comms", "signups", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, **ENV, **(env or {})},
    )


def test_ingest_json_counts_every_row_and_exits_1_on_a_rejected_row(tmp_path: Path) -> None:
    write_campaign(tmp_path, APP)
    (tmp_path / "app.csv").write_text(
        "external_id,kind,occurred_at,team_code\n1,install,2022-07-01,T100\n1,install,2022-07-01,T100\n"
        "2,install,not a date,T100\n3,install,2022-07-02,NOPE\n", encoding="utf-8")
    result = run("ingest", "--json", cwd=tmp_path)  # ./campaign.toml by default
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    app = data["sources"]["app"]
    assert app == {"read": 4, "accepted": 2, "duplicates": 1, "rejected": 1, "unattributed": 1}
    assert app["read"] == app["accepted"] + app["duplicates"] + app["rejected"]
    assert data["totals"] == app
    assert "rejected: app: app.csv:4: occurred_at: 'not a date' is not a date-time" in result.stderr

    status = run("status", "--json", "-c", str(tmp_path / "campaign.toml"), cwd=tmp_path.parent)
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)
    assert counts["total"] == 2 and counts["unattributed"] == 1
    assert counts["by_team"] == {"T100": 1, "unattributed": 1}
    assert counts["by_day"] == {"2022-07-01": 1, "2022-07-02": 1}
    assert counts["by_platform"] == {"app": 2} and counts["by_kind"] == {"install": 2}


def test_files_on_the_command_line_replace_the_configured_ones(tmp_path: Path) -> None:
    write_campaign(tmp_path, APP)
    other = tmp_path / "other.csv"
    other.write_text("external_id,kind,occurred_at\n9,install,2022-07-01\n", encoding="utf-8")
    env = {"LANGSON_COMMS_CAMPAIGN": str(tmp_path / "campaign.toml")}
    result = run("ingest", "app", str(other), "--json", cwd=tmp_path.parent, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["accepted"] == 1
    unknown = run("ingest", "nope", "--json", cwd=tmp_path.parent, env=env)
    assert unknown.returncode == 2 and "no sign-up source 'nope' (known: app)" in unknown.stderr


def test_missing_pseudonym_key_is_a_configuration_error(tmp_path: Path) -> None:
    write_campaign(tmp_path, APP)
    result = run("ingest", cwd=tmp_path, env={"LANGSON_COMMS_PSEUDONYM_KEY": ""})
    assert result.returncode == 2
    assert "LANGSON_COMMS_PSEUDONYM_KEY is not set" in result.stderr and "Traceback" not in result.stderr


def test_killed_mid_file_then_resumed_neither_skips_nor_doubles(tmp_path: Path) -> None:
    rows = 60_000
    write_campaign(tmp_path, APP + "batch_size = 500\n")
    with (tmp_path / "app.csv").open("w", encoding="utf-8") as handle:
        handle.write("external_id,kind,occurred_at\n")
        handle.writelines(f"{i},install,2022-07-01T10:00:00\n" for i in range(rows))
    process = subprocess.Popen([sys.executable, "-m", "langson_comms", "signups", "ingest", "--no-progress"],
                               cwd=tmp_path, env={**os.environ, **ENV},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "signups.sqlite"
    deadline = time.monotonic() + 120  # generous: a loaded machine starts a command slowly
    stored = 0
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=1) as con:
                        stored = con.execute("SELECT count(*) FROM signups").fetchone()[0]
                except sqlite3.Error:
                    stored = 0
                if stored >= 2_000:
                    break
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert 0 < stored, "the ingest never stored a batch"
    with sqlite3.connect(db) as con:
        before = con.execute("SELECT count(*) FROM signups").fetchone()[0]
    assert before < rows, "killed too late: the file was already done"
    result = run("ingest", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    app = json.loads(result.stdout)["sources"]["app"]
    assert app["duplicates"] == 0 and app["read"] == rows - before
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT external_id) FROM signups").fetchone() == (rows, rows)


def test_status_before_any_ingest_creates_nothing_and_says_so(tmp_path: Path) -> None:
    # Review: `signups status` on a campaign never ingested created an empty store file.
    write_campaign(tmp_path, APP)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no sign-ups ingested yet" in result.stdout
    as_json = run("status", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["total"] == 0
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
