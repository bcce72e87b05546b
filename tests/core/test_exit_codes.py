"""docs/cli.md lists every registered command with its options and exit codes; the
general commands' exit codes through the real entry point (``main``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from langson_comms.cli import build_cli, main
from langson_comms.runtime import Runtime

from .conftest import MINIMAL

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def _rows() -> dict[str, str]:
    """Command path → its table row (the first cell's backticked text, up to the first
    upper-case argument)."""
    rows = {}
    for line in CLI_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `([^`]+)`", line)
        if match:
            words = [w for w in match.group(1).split() if not (w.isupper() or w.startswith("-"))]
            rows[" ".join(words)] = line
    return rows


def _undocumented(cli: click.Group) -> list[str]:
    rows = _rows()
    problems = []
    for path, command in _commands(cli):
        row = rows.get(path)
        if row is None:
            problems.append(f"{path}: no row in docs/cli.md")
            continue
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) < 4 or not re.match(r"\d", cells[2]):
            problems.append(f"{path}: no exit codes in its row")
            continue
        for param in command.params:
            if isinstance(param, click.Option):
                name = max(param.opts, key=len)
                if f"`{name}`" not in cells[1] and f"`{name}/" not in cells[1]:
                    problems.append(f"{path}: option {name} not in its row")
    return problems


def test_every_registered_command_is_documented_with_its_options() -> None:
    cli = build_cli(Runtime.create())
    assert len(dict(_commands(cli))) >= 19
    problems = _undocumented(cli)
    assert not problems, "\n".join(problems)


def test_an_undocumented_command_or_option_is_found() -> None:
    """The check above can fail: a command, or an option, the docs do not name."""
    cli = build_cli(Runtime.create())
    cli.add_command(click.Command("not-documented", callback=lambda: None))
    # a new "validate" in this group only: the real command object is shared
    validate = cli.commands["validate"]
    cli.add_command(click.Command("validate", callback=validate.callback, params=[
        *validate.params, click.Option(["--not-documented-either"], is_flag=True)]))
    assert sorted(_undocumented(cli)) == [
        "not-documented: no row in docs/cli.md",
        "validate: option --not-documented-either not in its row"]


def test_version_plugins_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["plugins", "--json"]) == 0
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(MINIMAL, encoding="utf-8")
    assert main(["validate", str(campaign)]) == 0
    campaign.write_text(MINIMAL.replace("target = 12_000_000", "target = -1"), encoding="utf-8")
    assert main(["validate", str(campaign)]) == 2
    assert main(["validate", str(tmp_path / "missing.toml")]) == 2
    assert main(["no-such-command"]) == 2
    capsys.readouterr()


def test_plugin_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    campaign = tmp_path / "campaign.toml"
    campaign.write_text(MINIMAL + '\n[channels.zalo]\nkind = "zalo_zns"\ntemplate_id = "231456"\n'
                        'message = "value"\n', encoding="utf-8")
    assert main(["zalo", "preview", str(campaign)]) == 0
    assert main(["zalo", "preview", str(tmp_path / "missing.toml")]) == 2
    capsys.readouterr()
