"""The broadcast commands take the campaign file as every command does: ``-c/--campaign``
on the command, on the group (the old ``broadcast --campaign FILE export``), or on the
top-level group."""

from __future__ import annotations

from pathlib import Path

import pytest

from langson_comms.cli import main


@pytest.mark.parametrize("spelling", [
    ["broadcast", "--campaign", "{c}", "schedule"],  # the old spelling
    ["broadcast", "schedule", "-c", "{c}"],
    ["-c", "{c}", "broadcast", "schedule"],
    ["broadcast", "-c", "{c}", "schedule"],
])
def test_broadcast_schedule_spellings(campaign_dir: Path, spelling: list[str],
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("LANGSON_COMMS_CAMPAIGN", raising=False)
    campaign = campaign_dir / "campaign.toml"
    assert main([a.format(c=campaign) for a in spelling]) == 0, capsys.readouterr().err
    capsys.readouterr()
