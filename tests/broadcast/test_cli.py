"""The ``broadcast`` command group: CliRunner for each command, and the real script once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from langson_comms import Runtime
from langson_comms.cli.broadcast import broadcast


def _invoke(runtime: Runtime, campaign: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(broadcast, ["--campaign", str(campaign), *args], obj=runtime)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_schedule_export_confirm_compliance(runtime: Runtime, campaign_dir: Path, tmp_path: Path) -> None:
    campaign = campaign_dir / "campaign.toml"
    code, out, _ = _invoke(runtime, campaign, "schedule")
    assert code == 0 and "147 stations, 15582 airings" in out and "largest spread 1" in out

    code, out, _ = _invoke(runtime, campaign, "schedule", "--station", "TTH-186")
    assert code == 0 and "2022-06-30" in out

    code, out, _ = _invoke(runtime, campaign, "export", "--out", str(tmp_path / "out"), "--format", "ics")
    assert code == 0 and "148 ics" in out
    assert (tmp_path / "out" / "ics" / "all.ics").is_file()

    confirmations = tmp_path / "xac_nhan.csv"
    confirmations.write_text(
        "station,date,time,item\nTTH-186,2022-06-30,14:00,isee-tro-ly-ao\nTTH-999,2022-06-30,14:00,x\n",
        encoding="utf-8",
    )
    code, out, err = _invoke(runtime, campaign, "confirm", str(confirmations))
    assert code == 1
    assert "read 2, accepted 1, rejected 1" in out
    assert "xac_nhan.csv:3: station: 'TTH-999' is not a station" in err
    assert (campaign_dir / ".langson" / "broadcast.sqlite").is_file()

    code, out, _ = _invoke(runtime, campaign, "compliance", "--json", "--as-of", "2022-07-10")
    data = json.loads(out)
    assert code == 0 and data["total"]["planned"] == 15_582
    assert data["stations"]["TTH-186"]["aired"] == 1
    assert data["districts"]["186"]["reach"] == data["stations"]["TTH-186"]["reach"] > 0

    code, out, _ = _invoke(runtime, campaign, "compliance", "--as-of", "2022-07-10")
    assert code == 0 and "Compliance by district" in out and "Huyện Hữu Lũng" in out


def test_secrets_command_writes_one_per_ip_station(runtime: Runtime, campaign_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "secrets.csv"
    code, stdout, _ = _invoke(runtime, campaign_dir / "campaign.toml", "secrets", "--out", str(out))
    assert code == 0 and out.stat().st_mode & 0o777 == 0o600
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "station,secret" and f"wrote {len(lines) - 1} secret(s)" in stdout
    code, _, _ = _invoke(runtime, campaign_dir / "campaign.toml", "secrets", "--out", str(out))
    assert code == 2  # refuses to overwrite


def test_the_installed_script_runs_confirm_then_compliance(campaign_dir: Path, tmp_path: Path) -> None:
    script = shutil.which("langson-comms", path=str(Path(sys.executable).parent))
    assert script is not None
    env = {**os.environ, "LANGSON_COMMS_CAMPAIGN": str(campaign_dir / "campaign.toml")}
    confirmations = tmp_path / "c.csv"
    confirmations.write_text("station,date,time,item\nTTH-180,30/06/2022,14:00,cds-cai-dat\n", encoding="utf-8")
    db = tmp_path / "asrun.sqlite"
    first = subprocess.run(
        [script, "broadcast", "--db", str(db), "confirm", str(confirmations)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert first.returncode in (0, 1), first.stderr
    second = subprocess.run(
        [script, "broadcast", "--db", str(db), "compliance", "--json", "--as-of", "2022-07-01"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    data = json.loads(second.stdout)
    accepted = first.returncode == 0
    assert data["stations"]["TTH-180"]["aired"] == (1 if accepted else 0)
    assert data["total"]["planned"] == 15_582
    bad = subprocess.run(
        [script, "broadcast", "--campaign", str(tmp_path / "missing.toml"), "schedule"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "campaign file not found" in bad.stderr


def test_schedule_table_names_each_district_beside_its_code(runtime: Runtime,
                                                            campaign_dir: Path) -> None:
    """Issue 14.5: tables show district names beside codes (Hữu Lũng is 186)."""
    code, out, _ = _invoke(runtime, campaign_dir / "campaign.toml", "schedule")
    assert code == 0
    assert any("186" in line and "Hữu Lũng" in line for line in out.splitlines()), out
