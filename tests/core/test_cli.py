"""The CLI, run as a user runs it: a subprocess, exit codes, one line per error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import MINIMAL
from .test_plugins import fake_distribution


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langson_comms", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=60,
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("langson-comms, version ")


def test_plugins_json_lists_builtins_and_entry_points() -> None:
    result = run("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    channels = plugins["langson_comms.default_plugins.channels"]
    assert channels["builtin"] and channels["hooks"] == ["register_channels"]
    assert channels["registers"]["channel"] == ["outreach", "press", "social", "visual"]
    zalo = plugins["zalo"]
    assert not zalo["builtin"] and zalo["distribution"] == "langson-comms-zalo 0.1.0"
    assert zalo["hooks"] == ["register_channels", "register_commands", "register_sms_gateways"]
    assert zalo["registers"] == {"channel": ["zalo_zns"], "sms_gateway": ["zns"]}
    assert zalo["overrides"] == []


def test_validate_ok_and_summary(tmp_path: Path) -> None:
    (tmp_path / "campaign.toml").write_text(MINIMAL, encoding="utf-8")
    result = run("validate", "campaign.toml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["channels"]["press"] == {"kind": "press", "plan": "≥ 1 report(s)/week in Báo Lạng Sơn"}
    assert summary["targets"]["reaches"]["target"] == "12,000,000 reaches"


def test_validate_config_error_is_one_line_per_problem_exit_2(tmp_path: Path) -> None:
    text = MINIMAL.replace('kind = "press"', 'kind = "pres"').replace("min_reports_per_week = 1", "min_reports_per_week = 0")
    (tmp_path / "campaign.toml").write_text(text, encoding="utf-8")
    result = run("validate", "campaign.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        "error: campaign.toml:11: channels.press.kind: no channel named 'pres' "
        "(known: broadcast, outreach, press, sms, social, visual, zalo_zns); "
        "is its plugin installed? see `langson-comms plugins`",
    ]
    assert "Traceback" not in result.stderr


def test_missing_file_and_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("validate", "nope.toml", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == "error: nope.toml: campaign file not found"
    default = run("validate", cwd=tmp_path)  # no file named: ./campaign.toml
    assert default.returncode == 2
    assert default.stderr.strip() == (
        "error: campaign.toml: campaign file not found: no -c/--campaign FILE given, "
        "LANGSON_COMMS_CAMPAIGN not set, and no ./campaign.toml in this folder")
    usage = run("validate", "--no-such-option", cwd=tmp_path)
    assert usage.returncode == 2 and "error: No such option '--no-such-option'" in usage.stderr


@pytest.mark.parametrize("args", [(), ("sms",), ("signups",)])
def test_no_arguments_prints_the_usage_once(tmp_path: Path, args: tuple[str, ...]) -> None:
    # Review: `langson-comms` alone printed its usage line, then the whole help again as
    # "error:" lines.
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    both = done.stdout + done.stderr
    assert both.count("Usage:") == 1 and "Commands:" in both
    assert "error:" not in both


def test_broken_plugin_is_one_line_and_debug_shows_traceback(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "broken-gateway", "raise RuntimeError('vendor SDK missing')\n")
    env = {"PYTHONPATH": str(tmp_path)}
    result = run("plugins", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: plugin 'broken-gateway' (distribution broken-gateway) failed to import "
        "broken_gateway: RuntimeError: vendor SDK missing"
    ]
    debug = run("--debug", "plugins", env=env)
    assert debug.returncode == 2 and "Traceback (most recent call last)" in debug.stderr
    blocked = run("plugins", env={**env, "LANGSON_COMMS_BLOCK_PLUGINS": "broken-gateway"})
    assert blocked.returncode == 0


def test_plugin_command_runs(tmp_path: Path) -> None:
    text = MINIMAL + '\n[channels.zalo]\nkind = "zalo_zns"\ntemplate_id = "231456"\nmessage = "value"\n'
    (tmp_path / "campaign.toml").write_text(text, encoding="utf-8")
    result = run("zalo", "preview", "campaign.toml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "zalo: Công dân số Xứ Lạng - Chủ nhân trong không gian số\n"


BOOM = """\
import click
from langson_comms import hookimpl


@hookimpl
def register_commands(cli):
    @cli.group()
    def boom():
        "A plugin's group."

    @boom.command()
    def now():
        raise RuntimeError("kaput")

    @cli.command()
    @click.argument("what")
    def fine(what):
        click.echo(f"fine {what}")

    @cli.commands["broadcast"].command()
    def extra():
        raise KeyError("station")
"""


def test_an_exception_in_a_plugins_command_names_the_plugin(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "boom-plugin", BOOM)
    env = {"PYTHONPATH": str(tmp_path)}
    result = run("boom", "now", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: plugin 'boom-plugin' raised in its command 'boom now': RuntimeError: kaput"
        " (run with --debug for the traceback)"
    ]
    debug = run("--debug", "boom", "now", env=env)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: kaput" in debug.stderr
    extra = run("broadcast", "extra", env=env)  # a subcommand added to a built-in group
    assert extra.returncode == 1
    assert extra.stderr.startswith(
        "error: plugin 'boom-plugin' raised in its command 'broadcast extra': KeyError:")
    fine = run("fine", "day", env=env)  # a command that works is left as it was
    assert (fine.returncode, fine.stdout) == (0, "fine day\n"), fine.stderr


def test_unknown_names_in_the_plugin_lists_warn(tmp_path: Path) -> None:
    result = run("plugins", env={"LANGSON_COMMS_PLUGINS": "zalp",
                                 "LANGSON_COMMS_BLOCK_PLUGINS": "nothing-like-it"})
    assert result.returncode == 0, result.stderr
    assert ("LANGSON_COMMS_PLUGINS names 'zalp', which is not an installed plugin"
            " (did you mean 'zalo'?); is its plugin installed? see `langson-comms plugins`"
            in result.stderr)
    assert "LANGSON_COMMS_BLOCK_PLUGINS names 'nothing-like-it', which is not" in result.stderr
    quiet = run("plugins", env={"LANGSON_COMMS_PLUGINS": "zalo",
                                "LANGSON_COMMS_BLOCK_PLUGINS": "langson_comms.default_plugins.kpis"})
    assert quiet.returncode == 0 and quiet.stderr == ""
