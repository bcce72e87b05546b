"""One convention for the campaign file: ``-c/--campaign`` on the top-level group and each
command, ``LANGSON_COMMS_CAMPAIGN``, ``./campaign.toml``; the old spellings still work."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
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

[signups]
store = "signups.sqlite"
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
    # the sign-up, activity and KPI commands follow the same convention
    ["-c", "{c}", "signups", "status"], ["signups", "status", "-c", "{c}"],
    ["-c", "{c}", "activity", "status"], ["activity", "status", "--campaign", "{c}"],
    ["-c", "{c}", "report", "--to", "2022-07-01", "--format", "json"],
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
    for command in (["signups", "status"], ["activity", "status"]):
        assert main([*command]) == 0
        assert main(["-c", "missing.toml", *command]) == 2
        assert main(["-c", "missing.toml", *command, "-c", str(campaign)]) == 0
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


def test_one_campaign_option_everywhere() -> None:
    """Every command's ``-c/--campaign`` is the one of ``cli/options.py``: same help, same
    resolution (no command-level default or environment variable hiding the group's)."""
    from langson_comms.cli import build_cli
    from langson_comms.runtime import Runtime

    def walk(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
        for name, command in group.commands.items():
            yield prefix + name, command
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")

    root = build_cli(Runtime.create())
    found = {}
    for path, command in [("", root), *walk(root)]:
        for param in command.params:
            if "--campaign" in getattr(param, "opts", []):
                found[path] = (tuple(param.opts), param.help, param.default, param.envvar)  # type: ignore[attr-defined]
    assert {"signups status", "activity log", "report", "dashboard", "sms send", "broadcast"} <= set(found)
    shapes = set(found.values())
    assert len(shapes - {found[""], found["broadcast"]}) == 1, found  # the groups read the variable
    (opts, _, default, envvar), = shapes - {found[""], found["broadcast"]}
    assert (opts, default, envvar) == (("-c", "--campaign"), None, None)


@pytest.mark.parametrize("args", [["validate"], ["sms", "status"], ["broadcast", "schedule"],
                                  ["signups", "status"], ["activity", "status"], ["report"],
                                  ["leaderboard"], ["dashboard"], ["zalo", "preview"]])
def test_no_campaign_file_anywhere_says_how_to_give_one(
        campaign: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Run where there is no ./campaign.toml and nothing was given: one line saying how to
    give one (it said only "campaign.toml: campaign file not found")."""
    assert main(args) == 2
    assert capsys.readouterr().err == (
        "error: campaign.toml: campaign file not found: no -c/--campaign FILE given, "
        "LANGSON_COMMS_CAMPAIGN not set, and no ./campaign.toml in this folder\n")
