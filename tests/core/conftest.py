from __future__ import annotations

from pathlib import Path

import pytest

MINIMAL = """\
[campaign]
id = "test"
title = "Test campaign"
start = 2022-06-10
end = 2022-12-31

[messages.value]
text = "Công dân số Xứ Lạng - Chủ nhân trong không gian số"

[channels.press]
kind = "press"
outlets = ["Báo Lạng Sơn"]
min_reports_per_week = 1
messages = ["value"]

[targets.reaches]
kind = "reach"
target = 12_000_000
"""


@pytest.fixture
def write_campaign(tmp_path: Path):
    def write(text: str = MINIMAL, name: str = "campaign.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
