"""A three-week campaign with the four logged channels, two teams and a third-party channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs
import pytest

from langson_comms import Campaign, Runtime, hookimpl
from langson_comms.activity import ActivityChannel, ActivityRecord
from langson_comms.activity.contract import count, day, text
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.config import FromTable
from langson_comms.reach import ReachRecord

# Mon 2022-07-04 .. Sun 2022-07-24: three whole weeks.
CAMPAIGN = """
[campaign]
id = "test-activity"
title = "Activity under test"
start = 2022-07-04
end = 2022-07-24

[messages.value]
text = "Công dân số Xứ Lạng"

[channels.press]
kind = "press"
outlets = ["Báo A", "Đài B"]
min_reports_per_week = 1
audiences = { "Đài B" = 500 }

[channels.visual]
kind = "visual"
video_clips = 2
viewers_per_play = 30

[channels.social]
kind = "social"
platforms = ["zalo", "facebook"]

[channels.outreach]
kind = "outreach"
require_trained = true

[regions]
province = 20

[[regions.units]]
code = 20
name = "Province"
level = "province"

[[regions.units]]
code = 178
name = "District 178"
level = "district"
parent = 20

[[regions.units]]
code = 5971
name = "Commune 5971"
level = "commune"
parent = 178

[teams]
file = "teams.csv"
"""

TEAMS = """team_code,team_name,commune_code,member_name,member_phone,trained
T1,Team one,5971,Lan,,no
T1,Team one,5971,Minh,,no
T2,Team two,5971,Hoa,,yes
"""

SCHOOL = """
[channels.school]
kind = "school"
schools = ["THPT Việt Bắc"]
"""


@attrs.frozen(slots=True)
class SchoolSession(ActivityRecord):
    """A third party's record: a session at a school."""

    kind: ClassVar[str] = "session"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "school": ("school", "trường"), "date": ("date", "ngày"), "pupils": ("pupils", "số học sinh")}
    required: ClassVar[tuple[str, ...]] = ("school", "date", "pupils")

    school: str
    date: dt.date
    pupils: int

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        return cls(school=text(values, "school"), date=day(values, "date"), pupils=count(values, "pupils"))

    @property
    def identity(self) -> str:
        return f"{self.school}|{self.date}"

    @property
    def day(self) -> dt.date:
        return self.date


@attrs.frozen
class SchoolChannel(FromTable, ActivityChannel):
    """A third-party channel: school information sessions, reach = pupils present."""

    name: ClassVar[str] = "school"
    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (SchoolSession,)
    schools: list[str] = attrs.field(factory=list)

    def reach(self, record: SchoolSession, *, key: str, campaign: Campaign,
              source: str) -> Iterator[ReachRecord]:
        yield ReachRecord(record.date, key, record.pupils, "pupils present at the session", source,
                          kind=self.name)


class SchoolPlugin:
    @hookimpl
    def register_channels(self) -> list[type[Any]]:
        return [SchoolChannel]


def write_campaign(folder: Path, extra: str = "") -> Path:
    (folder / "teams.csv").write_text(TEAMS, encoding="utf-8")
    path = folder / "campaign.toml"
    path.write_text(CAMPAIGN + extra, encoding="utf-8")
    return path


def write(path: Path, text_: str) -> Path:
    path.write_text(text_, encoding="utf-8")
    return path


@pytest.fixture
def campaign(runtime: Runtime, tmp_path: Path) -> Campaign:
    return runtime.load_campaign(write_campaign(tmp_path))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteActivityStore]:
    with SqliteActivityStore(tmp_path / "store" / "activity.sqlite") as opened:
        yield opened
