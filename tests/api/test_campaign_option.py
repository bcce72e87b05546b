"""One convention for the campaign file: ``-c/--campaign`` on the top-level group and each
command, ``LANGSON_COMMS_CAMPAIGN``, ``./campaign.toml``; the old spellings still work."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from langson_comms.cli import main

from ..core.conftest import MINIMAL
from ..dispatch.helpers import CLI

SMS = MINIMAL + """
[messages.invite]
text = "Tai ung dung"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
message = "invite"
mode = "carrier_broadcast"
carriers = ["viettel"]
"""


@pytest.fixture
def campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "c.toml"
    path.write_text(SMS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no ./campaign.toml here
    monkeypatch.delenv("LANGSON_COMMS_CAMPAIGN", raising=False)
    return path


@pytest.mark.parametrize("args", [
    ["validate", "-c", "{c}"], ["validate", "--campaign", "{c}"], ["-c", "{c}", "validate"],
    ["validate", "{c}"],  # the old positional spelling
    ["sms", "status", "-c", "{c}"], ["-c", "{c}", "sms", "status"], ["sms", "status", "{c}"],
    ["sms", "pause", "-c", "{c}"], ["sms", "broadcast-order", "{c}"],
    ["zalo", "preview", "-c", "{c}"],  # a plugin's command, with the shared option
])
def test_every_spelling_finds_the_file(campaign: Path, args: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main([a.format(c=campaign) for a in args]) == 0, capsys.readouterr().err


def test_the_environment_then_the_default_file(campaign: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert "campaign.toml: campaign file not found" in capsys.readouterr().err
    monkeypatch.setenv("LANGSON_COMMS_CAMPAIGN", str(campaign))
    assert main(["validate", "--json"]) == 0
    assert main(["sms", "status"]) == 0
    # an explicit top-level -c wins over the environment, a command's -c over both
    assert main(["-c", "missing.toml", "validate"]) == 2
    assert main(["-c", "missing.toml", "validate", "-c", str(campaign)]) == 0
    monkeypatch.delenv("LANGSON_COMMS_CAMPAIGN")
    (tmp_path / "campaign.toml").write_text(SMS, encoding="utf-8")
    assert main(["validate"]) == 0
    capsys.readouterr()


def test_two_different_files_for_one_command_is_a_usage_error(
        campaign: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-c", str(campaign), "other.toml"]) == 2
    assert "two campaign files" in capsys.readouterr().err


def test_sms_prepare_old_and_new_spelling_as_a_process(campaign: Path, tmp_path: Path) -> None:
    audience = tmp_path / "list.csv"
    audience.write_text("phone,name\n0912345678,An\n", encoding="utf-8")
    for spelling in (["-c", str(campaign)], [str(campaign)]):
        out = tmp_path / f"out{len(spelling)}"
        done = subprocess.run([CLI, "sms", "prepare", *spelling, "--message", "invite",
                               "--audience", str(audience), "--out-dir", str(out), "--json"],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert (out / "prepared.csv").exists()
