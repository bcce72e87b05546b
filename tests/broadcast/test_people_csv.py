"""CSV files meant for people open in Excel with Vietnamese text (UTF-8 with a BOM) and
show district and commune names beside the codes."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path
from typing import Any

import pendulum

from langson_comms import Runtime
from langson_comms.broadcast import StationRegistry, export_all, write_runsheet
from langson_comms.regions import RegionRegistry

from ..dispatch.helpers import CLI

BOM = b"\xef\xbb\xbf"
STAMP = pendulum.datetime(2022, 6, 25, tz="UTC")


def _rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(BOM), f"{path.name} has no UTF-8 byte-order mark: Excel would show mojibake"
    assert not raw[3:].startswith(BOM)
    return list(csv.DictReader(raw[3:].decode("utf-8").splitlines()))


def test_runsheets_have_a_bom_and_region_names(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    export_all(schedule, channel.stations, tmp_path, stamp=STAMP, formats=["csv"])
    district = _rows(tmp_path / "runsheets" / "stations" / "TTH-186.csv")
    assert district[0]["district_code"] == "186" and district[0]["district_name"] == "Huyện Hữu Lũng"
    assert district[0]["commune_code"] == "" and district[0]["commune_name"] == ""
    commune = next(s for s in channel.stations if s.level.value == "commune")
    rows = _rows(tmp_path / "runsheets" / "stations" / f"{commune.code}.csv")
    region = runtime.load_campaign(Path(channel.context.base_dir) / "campaign.toml").regions.get(commune.admin_code)
    assert rows[0]["commune_code"] == commune.admin_code and rows[0]["commune_name"] == region.name
    assert rows[0]["district_name"].startswith(("Huyện ", "Thành phố "))
    assert "Thứ" in rows[0]["weekday"]   # Vietnamese text survives


def test_a_registry_without_regions_leaves_names_empty(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    bare = StationRegistry(channel.stations)
    assert len(bare.regions) == 0
    write_runsheet(tmp_path / "r.csv", schedule.for_station("TTH-186"), bare)
    rows = _rows(tmp_path / "r.csv")
    assert rows[0]["district_code"] == "186" and rows[0]["district_name"] == ""
    named = StationRegistry(channel.stations, regions=RegionRegistry(channel.stations.regions))
    write_runsheet(tmp_path / "n.csv", schedule.for_station("TTH-186"), named)
    assert _rows(tmp_path / "n.csv")[0]["district_name"] == "Huyện Hữu Lũng"


def test_cli_export_writes_excel_ready_runsheets(campaign_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    done = subprocess.run(
        [CLI, "broadcast", "--campaign", str(campaign_dir / "campaign.toml"), "--db", str(tmp_path / "a.sqlite"),
         "export", "--out", str(out), "--format", "csv"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(out / "runsheets" / "districts" / "186.csv")
    assert {r["district_name"] for r in rows} == {"Huyện Hữu Lũng"}
    assert all(r["commune_name"] for r in rows if r["commune_code"])
