from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from langson_comms import Runtime

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langson_2022"


@pytest.fixture
def campaign_dir(tmp_path: Path) -> Path:
    """A copy of the reference campaign, so stores and edits stay in the test's folder."""
    target = tmp_path / "langson_2022"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".langson", "__pycache__"))
    return target


@pytest.fixture
def channel(runtime: Runtime, campaign_dir: Path) -> Any:
    return runtime.load_campaign(campaign_dir / "campaign.toml").channel("broadcast")


def set_channel_keys(campaign_dir: Path, **values: str) -> None:
    """Rewrite ``key = …`` lines of [channels.broadcast] (values are TOML text); add missing keys."""
    path = campaign_dir / "campaign.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("[channels.broadcast]")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("["))
    remaining = dict(values)
    for i in range(start + 1, end):
        key = lines[i].split("=")[0].strip()
        if key in remaining:
            lines[i] = f"{key} = {remaining.pop(key)}"
    lines[end:end] = [f"{k} = {v}" for k, v in remaining.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
