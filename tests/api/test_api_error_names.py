"""Errors raised by ``langson_comms.api`` name the API's parameters, never a CLI flag (a
host application has no ``--message``); the CLI shows them as its own options."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from langson_comms import Runtime, api, build_campaign
from langson_comms.cli import main
from langson_comms.errors import ConfigError, OutputClashError
from langson_comms.testing.kpi_contract import contract_data

STATIONS = ("code,name,level,admin_code,district_code,listeners,ip_connected\n"
            "TTH-178,Đài huyện Văn Lãng,district,178,178,9000,yes\n")
SKETCHES = ("id,title,topic,language,duration_seconds,producer,due,delivered,audio\n"
            "cds,Hướng dẫn cài đặt,platform,vi,55,Đài PT-TH tỉnh,2022-06-20,2022-06-17,\n")


def _campaign(tmp: Path) -> Any:
    (tmp / "stations.csv").write_text(STATIONS, encoding="utf-8")
    (tmp / "sketches.csv").write_text(SKETCHES, encoding="utf-8")
    return build_campaign({
        "campaign": {"id": "py", "title": "Py", "start": dt.date(2022, 7, 1),
                     "end": dt.date(2022, 7, 31)},
        "messages": {"m": {"text": "Xin chao {{ten}}", "classification": "public_notice",
                           "classified_by": "So"}},
        "channels": {
            "sms": {"kind": "sms", "mode": "direct", "message": "m", "brandname": "LANGSON",
                    "ledger": "ledger.sqlite",
                    "gateways": {"sim": {"kind": "generic_http",
                                         "url": "http://127.0.0.1:9/sms"}}},
            "broadcast": {
                "kind": "broadcast", "scheduler": "weekly_rotation", "stations": "stations.csv",
                "sketches": "sketches.csv", "start": dt.date(2022, 7, 1),
                "end": dt.date(2022, 7, 31), "weekdays": ["tuesday"], "airings_per_week": 1,
                "window": {"start": "14:00", "end": "17:00"}, "store": "asrun.sqlite"}},
    }, runtime=Runtime.create(entry_points=False, env={}), base_dir=tmp)


def _no_flag(error: BaseException) -> str:
    text = str(error)
    assert "--" not in text, text
    return text


def test_each_api_error_names_the_parameter(tmp_path: Path) -> None:
    campaign = _campaign(tmp_path)
    with pytest.raises(ConfigError) as info:
        api.sms_target(campaign, message="nope")
    assert info.value.key == "message" and _no_flag(info.value)

    target = api.sms_target(campaign)
    with pytest.raises(ConfigError) as info:
        api.report_options(target, host="192.0.2.1", insecure=True, environ={})
    assert info.value.key == "insecure" and _no_flag(info.value)
    with pytest.raises(ConfigError) as info:
        api.report_options(target, environ={})
    assert "pass insecure=True" in _no_flag(info.value)

    (tmp_path / "list.csv").write_text("so_dien_thoai,ten\n0912345678,An\n", encoding="utf-8")
    with pytest.raises(OutputClashError) as clash:
        api.prepare_audience(campaign, "m", tmp_path / "list.csv", out_dir=tmp_path,
                             prepared=tmp_path / "list.csv")
    assert _no_flag(clash.value).startswith(f"{tmp_path / 'list.csv'}: prepared ")
    assert " is the input audience " in str(clash.value)

    (tmp_path / "taken.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        api.write_station_secrets(api.broadcast_target(campaign), tmp_path / "taken.csv")
    assert info.value.key == "out" and _no_flag(info.value)

    broadcast = api.broadcast_target(campaign)
    with pytest.raises(ConfigError) as info:
        api.export_broadcasts(broadcast, tmp_path)  # holds files: force=True is needed
    assert info.value.key == "out" and "pass force=True" in _no_flag(info.value)
    with pytest.raises(ConfigError) as info:
        asyncio.run(api.serve_confirmations(broadcast, asyncio.Event()))
    assert "pass secrets_path" in _no_flag(info.value)

    kpi = contract_data().campaign
    with pytest.raises(ConfigError) as info:
        api.day_leaderboard(kpi, day=kpi.period.start.subtract(days=1))
    assert info.value.key == "day" and _no_flag(info.value)
    board = api.day_leaderboard(kpi, day=kpi.period.start)
    with pytest.raises(OutputClashError) as clash:
        api.write_leaderboard(board, tmp_path / "list.csv",
                              inputs=[("teams file", tmp_path / "list.csv")])
    assert " path " in f" {_no_flag(clash.value)}"


def test_the_cli_shows_its_own_options(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "campaign.toml").write_text(
        '[campaign]\nid = "c"\ntitle = "C"\nstart = 2022-07-01\nend = 2022-07-31\n\n'
        '[messages.m]\ntext = "Xin chao"\nclassification = "public_notice"\n'
        'classified_by = "So"\n', encoding="utf-8")
    (tmp_path / "list.csv").write_text("so_dien_thoai\n0912345678\n", encoding="utf-8")
    code = main(["sms", "prepare", "-c", str(tmp_path / "campaign.toml"), "--message", "m",
                 "--audience", str(tmp_path / "list.csv"), "--out-dir", str(tmp_path),
                 "--prepared", str(tmp_path / "list.csv"), "--brandname", "LANGSON"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"--prepared {tmp_path / 'list.csv'} is the input --audience" in err
