"""A small campaign with teams, and a sign-up source defined here as a third party would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from langson_comms import Campaign, Runtime, hookimpl
from langson_comms.clock import Clock
from langson_comms.signups import Batch, Rejection, SignupEvent, SignupSource, SqliteSignupStore

KEY = "k" * 32
ENV = {"LANGSON_COMMS_PSEUDONYM_KEY": KEY}

TEAMS = """team_code,team_name,commune_code,member_name,member_phone,trained
T100,Team of commune 100,100,A,,yes
T200a,First team of commune 200,200,B,,yes
T200b,Second team of commune 200,200,C,,no
"""

CAMPAIGN = """
[campaign]
id = "test-signups"
title = "Sign-ups under test"
start = 2022-06-10
end = 2022-12-31

[regions]
province = 20

[[regions.units]]
code = 20
name = "Province"
level = "province"

[[regions.units]]
code = 100
name = "Commune 100"
level = "commune"
parent = 20

[[regions.units]]
code = 200
name = "Commune 200"
level = "commune"
parent = 20

[[regions.units]]
code = 300
name = "Commune 300"
level = "commune"
parent = 20

[teams]
file = "teams.csv"

[signups]
store = "signups.sqlite"
"""


@attrs.frozen
class ListSource(SignupSource):
    """Yields ``rows`` (dicts of event fields) ``per_batch`` at a time; position = rows done.

    ``fail_after`` raises after that many batches were yielded (a crash between batches).
    """

    name: ClassVar[str] = "list"
    rows: list[dict[str, Any]] = attrs.field(factory=list)
    per_batch: int = 2
    fail_after: int = -1

    def read(self, position: str | None, *, clock: Clock) -> Iterator[Batch]:
        done = int(json.loads(position)["done"]) if position else 0
        batches = 0
        while done < len(self.rows):
            if batches == self.fail_after:
                raise RuntimeError("crash between batches")
            events, rejections = [], []
            for i in range(done, min(done + self.per_batch, len(self.rows))):
                try:
                    events.append(SignupEvent(platform=self.platform, source=f"{self.key}:row {i}",
                                              **self.rows[i]))
                except (TypeError, ValueError) as exc:
                    rejections.append(Rejection(where=f"{self.key}:row {i}", reason=str(exc)))
            done = min(done + self.per_batch, len(self.rows))
            batches += 1
            yield Batch(events=events, rejections=rejections, position=json.dumps({"done": done}))


class ListPlugin:
    @hookimpl
    def register_signup_sources(self) -> list[type[Any]]:
        return [ListSource]


def write_campaign(folder: Path, extra: str = "") -> Path:
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    path = folder / "campaign.toml"
    path.write_text(CAMPAIGN + extra, encoding="utf-8")
    return path


@pytest.fixture
def list_runtime(runtime: Runtime, register_plugin: Any) -> Runtime:
    register_plugin(ListPlugin(), "list-plugin")
    return runtime


@pytest.fixture
def campaign(list_runtime: Runtime, tmp_path: Path) -> Campaign:
    return list_runtime.load_campaign(write_campaign(tmp_path, '[signups.test]\nkind = "list"\nplatform = "mbbank"\n'))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteSignupStore]:
    with SqliteSignupStore(tmp_path / "store" / "signups.sqlite") as opened:
        yield opened
