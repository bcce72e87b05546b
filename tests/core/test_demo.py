"""The README's main job: the reference campaign end to end, as a user runs it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parents[2] / "examples" / "langson_2022" / "demo.py"


def run_demo(out: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--out", str(out), "--recipients", "300"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def figures(out: Path) -> dict[str, object]:
    """Every figure of the report folder's JSON but the instant it was measured."""
    report = json.loads((out / "report" / "report.json").read_text(encoding="utf-8"))
    del report["measured_at"]
    return dict(report)


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = run_demo(tmp_path)
    # broadcast: every station has a calendar, a run-sheet and printable sheets
    assert len(list((tmp_path / "broadcast" / "ics").glob("*.ics"))) == 148
    assert "read 539, accepted 535, rejected 4" in result.stdout
    # sms: every audience row is counted somewhere, and every prepared row was delivered
    with (tmp_path / "thanh_vien_to_cnscd.csv").open(encoding="utf-8-sig") as handle:
        rows = sum(1 for _ in handle) - 1
    counted = 0
    for name in ("prepared.csv", "quarantine.csv", "excluded.csv"):
        with (tmp_path / "sms" / name).open(encoding="utf-8") as handle:
            counted += sum(1 for _ in csv.DictReader(handle))
    assert counted == rows == 300
    with (tmp_path / "sms" / "prepared.csv").open(encoding="utf-8") as handle:
        prepared = sum(1 for _ in csv.DictReader(handle))
    assert "completed in" in result.stdout and f"delivered {prepared}" in result.stdout
    status = subprocess.run(
        [sys.executable, "-m", "langson_comms", "sms", "status", str(tmp_path / "sms_campaign.toml"), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)["messages"]["team_notice"]["counts"]
    assert counts["delivered"] == prepared
    assert sum(counts.values()) == prepared
    # the carrier-run broadcast: three carriers' SAMPLE reports, added up per district
    reference = subprocess.run(
        [sys.executable, "-m", "langson_comms", "sms", "status", str(tmp_path / "reference" / "campaign.toml"),
         "--json"], capture_output=True, text=True, timeout=60,
    )
    assert reference.returncode == 0, reference.stderr
    data = json.loads(reference.stdout)
    assert sorted(o["carrier"] for o in data["broadcasts"]) == ["mobifone", "viettel", "vinaphone"]
    by_district = data["broadcast_areas"]["sms_invite"]
    assert len(by_district) == 11 and by_district[0]["name"] == "Thành phố Lạng Sơn"
    placed = sum(a["subscribers"] for o in data["broadcasts"] for a in o["areas"])
    assert placed == sum(a["subscribers"] for a in by_district) < sum(o["subscribers"] for o in data["broadcasts"])

    # the whole campaign measured: sign-ups, activity, airings; the report folder written
    report = figures(tmp_path)
    kpis = report["kpis"]
    assert isinstance(kpis, dict)
    assert kpis["installs"]["value"] > 0 and kpis["installs"]["target"] == 24_000
    assert {"broadcast", "press", "visual", "social", "outreach"} <= set(kpis["reaches"]["breakdowns"]["channel"])
    assert report["leaderboard"] and "BẢNG XẾP HẠNG TỔ CÔNG NGHỆ SỐ" in result.stdout
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == [
        "report.html", "report.json", "report.md", "report.txt", "report.xlsx"]
    assert (tmp_path / "report" / "report.html").read_text(encoding="utf-8").count('<figure class="chart"') == 6
    # a second run in the same folder starts clean and gives the same figures
    run_demo(tmp_path)
    assert figures(tmp_path) == report
