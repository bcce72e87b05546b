"""``langson-comms activity`` run as a user runs it: a subprocess, JSON, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from .conftest import write, write_campaign


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "langson_comms", "activity", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120, env={**os.environ, "LANGSON_COMMS_CAMPAIGN": ""})


def test_log_and_status_json_and_exit_codes(tmp_path: Path) -> None:
    write_campaign(tmp_path)
    write(tmp_path / "press.csv", "outlet,date,title,audience\nBáo A,2022-07-05,a,100\nBáo A,2022-07-05,b,x\n")
    write(tmp_path / "posts.csv", "platform,page,date,views\nzalo,G,2022-07-05,10\n")
    logged = run("log", "press", "press.csv", "--json", cwd=tmp_path)
    assert logged.returncode == 1, logged.stderr
    assert json.loads(logged.stdout)["files"]["press.csv"] == {
        "read": 2, "accepted": 1, "duplicates": 0, "rejected": 1, "kind": "item"}
    assert "rejected: press.csv:3: audience: 'x' is not a whole number" in logged.stderr
    assert run("log", "social", "posts.csv", cwd=tmp_path).returncode == 0
    store = tmp_path / ".langson" / "activity.sqlite"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    status = run("status", "--from", "2022-07-04", "--to", "2022-07-10", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["channels"]["press"]["reach"] == 100 and data["channels"]["social"]["reach"] == 10
    assert data["channels"]["press"]["cadence_gaps"] == [
        {"from": "2022-07-04", "to": "2022-07-10", "group": "Đài B", "expected": 1, "found": 0,
         "rule": "at least 1 report(s) a week"}]
    assert data["training"] == {"members": 3, "trained": 1, "percent": 33.3}
    assert run("log", "sms", "posts.csv", cwd=tmp_path).returncode == 2
    assert run("log", "press", "missing.csv", cwd=tmp_path).returncode == 2


def test_a_postgresql_activity_store_is_refused_naming_the_option(tmp_path: Path) -> None:
    """The activity store has no server backend yet: a URL is a located usage error, not a
    file named ``postgresql:`` created in the working folder."""
    write_campaign(tmp_path)
    write(tmp_path / "posts.csv", "platform,page,date,views\nzalo,G,2022-07-05,10\n")
    done = run("log", "social", "posts.csv", "--store", "postgresql://lang@db/x", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "--store" in done.stderr and "not supported yet for the activity store" in done.stderr
    assert not (tmp_path / "postgresql:").exists()
    assert run("log", "social", "posts.csv", "--store", "sqlite:///kept/activity.sqlite",
               cwd=tmp_path).returncode == 0
    assert (tmp_path / "kept" / "activity.sqlite").is_file()
