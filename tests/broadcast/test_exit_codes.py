"""Exit codes of every ``broadcast`` command, through the real entry point (``main``, and
the installed script once), as docs/cli.md lists them; and ``export``'s folder rule."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from langson_comms.cli import main

from ..dispatch.test_exit_codes import stops_with_exit_0

SCRIPT = str(Path(sys.executable).parent / "langson-comms")


def _main(campaign_dir: Path, *args: str) -> int:
    return main(["broadcast", "--campaign", str(campaign_dir / "campaign.toml"), *args])


def test_confirm_with_a_rejected_row_exits_1_from_the_script(campaign_dir: Path, tmp_path: Path) -> None:
    confirmations = tmp_path / "xac_nhan.csv"
    confirmations.write_text(
        "station,date,time,item\nTTH-186,2022-06-30,14:00,isee-tro-ly-ao\nTTH-999,2022-06-30,14:00,x\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [SCRIPT, "broadcast", "--campaign", str(campaign_dir / "campaign.toml"), "--db",
         str(tmp_path / "asrun.sqlite"), "confirm", str(confirmations)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )
    assert "read 2, accepted 1, rejected 1" in result.stdout, result.stderr
    assert result.returncode == 1


def test_confirm_all_accepted_exits_0(campaign_dir: Path, tmp_path: Path) -> None:
    confirmations = tmp_path / "ok.csv"
    confirmations.write_text("station,date,time,item\nTTH-186,2022-06-30,14:00,isee-tro-ly-ao\n",
                             encoding="utf-8")
    assert _main(campaign_dir, "--db", str(tmp_path / "a.sqlite"), "confirm", str(confirmations)) == 0


def _stored(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("confirmations", "rejections", "ingests")]


def test_confirm_unreadable_file_exits_2_and_stores_nothing(campaign_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A file that cannot be read (its header lacks a column) stores nothing: exit 2."""
    confirmations = tmp_path / "broken.csv"
    confirmations.write_text("station,date,item\nTTH-186,2022-06-30,isee-tro-ly-ao\n",
                             encoding="utf-8")
    db = tmp_path / "asrun.sqlite"
    assert _main(campaign_dir, "--db", str(db), "confirm", str(confirmations)) == 2
    assert "broken.csv:1" in capsys.readouterr().err
    assert _stored(db) == [0, 0, 0]


def test_confirm_misaligned_row_is_rejected_where_it_is(campaign_dir: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A row with too many cells is rejected at its line (exit 1); the good row is kept."""
    confirmations = tmp_path / "messy.csv"
    confirmations.write_text(
        "station,date,time,item\nTTH-186,2022-06-30,14:00,isee-tro-ly-ao\n"
        "TTH-180,30/06/2022,14:00,cds-cai-dat,extra,cells,here,too\n",
        encoding="utf-8",
    )
    db = tmp_path / "asrun.sqlite"
    assert _main(campaign_dir, "--db", str(db), "confirm", str(confirmations)) == 1
    assert "messy.csv:3" in capsys.readouterr().err
    assert _stored(db) == [1, 1, 1]


def test_schedule_and_compliance_exit_0_and_bad_options_exit_2(campaign_dir: Path, tmp_path: Path) -> None:
    assert _main(campaign_dir, "schedule") == 0
    assert _main(campaign_dir, "schedule", "--station", "NOPE") == 2
    db = str(tmp_path / "a.sqlite")
    assert _main(campaign_dir, "--db", db, "compliance", "--json", "--as-of", "2022-07-10") == 0
    assert _main(campaign_dir, "--db", db, "compliance", "--as-of", "10 July") == 2
    assert main(["broadcast", "--campaign", str(tmp_path / "missing.toml"), "schedule"]) == 2


def test_secrets_exit_codes(campaign_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "secrets.csv"
    assert _main(campaign_dir, "secrets", "--out", str(out)) == 0
    assert _main(campaign_dir, "secrets", "--out", str(out)) == 2  # never overwritten
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".secrets.csv")]


def test_serve_without_secrets_exits_2_and_stops_on_sigint_with_0(campaign_dir: Path, tmp_path: Path) -> None:
    assert _main(campaign_dir, "serve", "--secrets", str(tmp_path / "missing.csv")) == 2
    secrets = tmp_path / "secrets.csv"
    assert _main(campaign_dir, "secrets", "--out", str(secrets)) == 0
    stops_with_exit_0([SCRIPT, "broadcast", "--campaign", str(campaign_dir / "campaign.toml"), "--db",
                       str(tmp_path / "a.sqlite"), "serve", "--secrets", str(secrets), "--port", "0"],
                      "serving confirmations for", signal.SIGINT, on_stderr=True)


def test_export_into_a_folder_holding_files_needs_force(campaign_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert _main(campaign_dir, "export", "--out", str(out), "--format", "csv") == 0
    assert (out / "runsheets" / "districts" / "186.csv").is_file()
    capsys.readouterr()
    mine = out / "notes.txt"
    mine.write_text("keep me", encoding="utf-8")
    assert _main(campaign_dir, "export", "--out", str(out), "--format", "csv") == 2
    assert "--force" in capsys.readouterr().err
    assert _main(campaign_dir, "export", "--out", str(out), "--format", "csv", "--force") == 0
    assert mine.read_text(encoding="utf-8") == "keep me"  # only its own files are rewritten
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temp file left behind


def test_export_never_writes_over_an_input(campaign_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out the campaign folder itself: refused (it holds the inputs), even with --force
    its own files are checked against the campaign's inputs."""
    before = {p: p.read_bytes() for p in campaign_dir.rglob("*") if p.is_file()}
    assert _main(campaign_dir, "export", "--out", str(campaign_dir), "--format", "md") == 2
    assert "--force" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in campaign_dir.rglob("*") if p.is_file()} == before


def test_export_with_force_still_refuses_to_overwrite_an_input(campaign_dir: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The stations file kept where a run-sheet would go: refused before anything is written."""
    moved = campaign_dir / "runsheets" / "districts" / "186.csv"
    moved.parent.mkdir(parents=True)
    (campaign_dir / "stations.csv").rename(moved)
    campaign = campaign_dir / "campaign.toml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace(
        'stations = "stations.csv"', 'stations = "runsheets/districts/186.csv"'), encoding="utf-8")
    before = moved.read_bytes()
    assert _main(campaign_dir, "export", "--out", str(campaign_dir), "--format", "csv", "--force") == 2
    err = capsys.readouterr().err
    assert "an output never overwrites an input" in err and "channels.broadcast.stations" in err
    assert moved.read_bytes() == before
    assert not (campaign_dir / "runsheets" / "stations").exists()
