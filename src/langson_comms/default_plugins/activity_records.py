"""The activity records of the built-in press, visual, social and outreach channels.

Written as a third party would: subclasses of the public ``ActivityRecord`` with the
public cell parsers.  docs/activity.md lists every column with its accepted headers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import ClassVar, Self

import attrs

from langson_comms.activity.contract import (
    ActivityRecord,
    RowProblem,
    count,
    day,
    optional_count,
    optional_text,
    shown,
    text,
)
from langson_comms.regions import canonical_code

__all__ = ["Clip", "Placement", "PressItem", "SocialPost", "TeamVisit", "Training"]

PRESS_KINDS = ("article", "radio", "tv")
PLACEMENT_MEDIA = ("board", "website")
SOCIAL_PLATFORMS = ("zalo", "facebook", "youtube", "tiktok")

_MEDIUM_WORDS = {
    "article": "article", "bai bao": "article", "bao in": "article", "bao": "article", "print": "article",
    "bai viet": "article", "radio": "radio", "phat thanh": "radio", "tv": "tv", "truyen hinh": "tv",
    "television": "tv", "board": "board", "led": "board", "bang led": "board", "pano": "board",
    "website": "website", "web": "website", "trang thong tin dien tu": "website", "cong thong tin": "website",
}


def _choice(values: Mapping[str, str], field: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    from langson_comms.tabular import header_key

    raw = values.get(field, "").strip()
    if not raw and default is not None:
        return default
    word = header_key(raw).replace("_", " ")
    value = _MEDIUM_WORDS.get(word, word)
    if value not in allowed:
        raise RowProblem(field, f"{shown(raw)} is not one of: {', '.join(allowed)}" if raw
                         else f"{field} is empty (expected one of: {', '.join(allowed)})")
    return value


def _code(values: Mapping[str, str], field: str) -> str | None:
    raw = values.get(field, "").strip()
    if not raw:
        return None
    try:
        return canonical_code(raw)
    except ValueError:
        raise RowProblem(field, f"{shown(raw)} is not a unit code (expected the official number, e.g. 178)") from None


def _key(*parts: object) -> str:
    return "|".join(str(p).strip().casefold() for p in parts)


@attrs.frozen(slots=True)
class PressItem(ActivityRecord):
    """A report in a newspaper, on radio or on TV."""

    kind: ClassVar[str] = "item"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "outlet": ("outlet", "cơ quan báo chí", "báo", "đơn vị"),
        "date": ("date", "ngày", "ngày đăng", "ngày phát"),
        "title": ("title", "tiêu đề", "tên bài"),
        "link": ("link", "url", "đường dẫn"),
        "medium": ("kind", "medium", "loại", "hình thức"),
        "audience": ("audience", "audience estimate", "lượt tiếp cận", "số người xem"),
        "print_run": ("print run", "số bản in", "số lượng phát hành"),
    }
    required: ClassVar[tuple[str, ...]] = ("outlet", "date", "title")

    outlet: str
    date: dt.date
    title: str
    medium: str = "article"
    link: str = ""
    audience: int | None = None
    print_run: int | None = None

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        return cls(outlet=text(values, "outlet"), date=day(values, "date"), title=text(values, "title"),
                   medium=_choice(values, "medium", PRESS_KINDS, "article"),
                   link=optional_text(values, "link", limit=2000),
                   audience=optional_count(values, "audience"), print_run=optional_count(values, "print_run"))

    @property
    def identity(self) -> str:
        return _key(self.outlet, self.date, self.title)

    @property
    def day(self) -> dt.date:
        return self.date

    @property
    def group(self) -> str | None:
        return self.outlet


def _span(values: Mapping[str, str]) -> tuple[dt.date, dt.date]:
    start = day(values, "start")
    end = day(values, "end")
    if end < start:
        raise RowProblem("end", f"ends {end.isoformat()}, before it starts {start.isoformat()}")
    if (end - start).days > 366:
        raise RowProblem("end", f"{(end - start).days + 1} days long (at most 367: one record per placement a year)")
    return start, end


@attrs.frozen(slots=True)
class Placement(ActivityRecord):
    """A message on an LED board or an agency website, shown from ``start`` to ``end``."""

    kind: ClassVar[str] = "placement"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "medium": ("medium", "kind", "loại", "hình thức"),
        "location": ("location", "board", "website", "vị trí", "địa điểm", "trang"),
        "unit": ("unit", "agency", "đơn vị", "cơ quan"),
        "district": ("district", "district code", "mã huyện", "huyện"),
        "start": ("start", "from", "từ ngày", "ngày bắt đầu"),
        "end": ("end", "to", "đến ngày", "ngày kết thúc"),
        "daily_audience": ("daily audience", "daily passers by", "daily page views", "lượt xem mỗi ngày",
                           "lượt người qua mỗi ngày"),
    }
    required: ClassVar[tuple[str, ...]] = ("medium", "location", "start", "end", "daily_audience")

    medium: str
    location: str
    start: dt.date
    end: dt.date
    daily_audience: int
    unit: str = ""
    district: str | None = None

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        start, end = _span(values)
        return cls(medium=_choice(values, "medium", PLACEMENT_MEDIA), location=text(values, "location"),
                   start=start, end=end, daily_audience=count(values, "daily_audience"),
                   unit=optional_text(values, "unit"), district=_code(values, "district"))

    @property
    def identity(self) -> str:
        return _key(self.medium, self.location, self.start)

    @property
    def day(self) -> dt.date:
        return self.start

    @property
    def last_day(self) -> dt.date:
        return self.end


@attrs.frozen(slots=True)
class Clip(ActivityRecord):
    """A video clip played on an LED screen ``plays_per_day`` times a day, ``start``..``end``."""

    kind: ClassVar[str] = "clip"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "clip": ("clip", "video", "tên clip", "phim"),
        "screen": ("screen", "màn hình", "màn hình led"),
        "district": ("district", "district code", "mã huyện", "huyện"),
        "start": ("start", "from", "từ ngày", "ngày bắt đầu"),
        "end": ("end", "to", "đến ngày", "ngày kết thúc"),
        "plays_per_day": ("plays per day", "số lần phát mỗi ngày", "lượt phát mỗi ngày"),
        "viewers_per_play": ("viewers per play", "người xem mỗi lượt"),
    }
    required: ClassVar[tuple[str, ...]] = ("clip", "screen", "start", "end", "plays_per_day")

    clip: str
    screen: str
    start: dt.date
    end: dt.date
    plays_per_day: int
    viewers_per_play: int | None = None
    district: str | None = None

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        start, end = _span(values)
        return cls(clip=text(values, "clip"), screen=text(values, "screen"), start=start, end=end,
                   plays_per_day=count(values, "plays_per_day"),
                   viewers_per_play=optional_count(values, "viewers_per_play"), district=_code(values, "district"))

    @property
    def identity(self) -> str:
        return _key(self.clip, self.screen, self.start)

    @property
    def day(self) -> dt.date:
        return self.start

    @property
    def last_day(self) -> dt.date:
        return self.end

    @property
    def group(self) -> str | None:
        return self.clip


@attrs.frozen(slots=True)
class SocialPost(ActivityRecord):
    """A post on a Zalo group or a Facebook page."""

    kind: ClassVar[str] = "post"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "platform": ("platform", "nền tảng", "mạng xã hội"),
        "page": ("page", "group", "trang", "nhóm"),
        "date": ("date", "ngày", "ngày đăng"),
        "link": ("link", "url", "đường dẫn"),
        "title": ("title", "content", "nội dung", "tiêu đề"),
        "views": ("views", "reach", "lượt xem", "lượt tiếp cận"),
        "members": ("members", "group members", "thành viên", "số thành viên"),
    }
    required: ClassVar[tuple[str, ...]] = ("platform", "page", "date")

    platform: str
    page: str
    date: dt.date
    link: str = ""
    title: str = ""
    views: int | None = None
    members: int | None = None

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        post = cls(platform=_choice(values, "platform", SOCIAL_PLATFORMS), page=text(values, "page"),
                   date=day(values, "date"), link=optional_text(values, "link", limit=2000),
                   title=optional_text(values, "title"), views=optional_count(values, "views"),
                   members=optional_count(values, "members"))
        if post.views is None and post.members is None:
            raise RowProblem("views", "no views/reach and no group members: give one of them")
        return post

    @property
    def identity(self) -> str:
        # the link with the date: a group's own link pasted for each post is not one post
        return _key(self.link, self.date) if self.link else _key(self.platform, self.page, self.date, self.title)

    @property
    def day(self) -> dt.date:
        return self.date

    @property
    def group(self) -> str | None:
        return self.page


@attrs.frozen(slots=True)
class TeamVisit(ActivityRecord):
    """A community team's door-to-door day in one commune."""

    kind: ClassVar[str] = "visit"
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "team": ("team", "team code", "mã tổ", "tổ"),
        "commune": ("commune", "commune code", "mã xã", "xã"),
        "date": ("date", "ngày"),
        "households": ("households", "households visited", "số hộ", "số hộ đã đến"),
        "people_helped": ("people helped", "số người được hướng dẫn", "số người"),
        "installs_helped": ("installs helped", "installs", "số lượt cài đặt", "cài đặt"),
    }
    required: ClassVar[tuple[str, ...]] = ("team", "commune", "date", "households")

    team: str
    commune: str
    date: dt.date
    households: int
    people_helped: int = 0
    installs_helped: int = 0

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        commune = _code(values, "commune")
        if commune is None:
            raise RowProblem("commune", "commune is empty (expected the commune's official code)")
        return cls(team=text(values, "team"), commune=commune, date=day(values, "date"),
                   households=count(values, "households"),
                   people_helped=optional_count(values, "people_helped") or 0,
                   installs_helped=optional_count(values, "installs_helped") or 0)

    @property
    def identity(self) -> str:
        return _key(self.team, self.commune, self.date)

    @property
    def day(self) -> dt.date:
        return self.date

    @property
    def group(self) -> str | None:
        return self.team


@attrs.frozen(slots=True)
class Training(ActivityRecord):
    """A team member trained (one record per member: a second is a duplicate)."""

    kind: ClassVar[str] = "training"
    within_period: ClassVar[bool] = False
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "member": ("member", "member name", "họ tên", "thành viên", "họ và tên"),
        "team": ("team", "team code", "mã tổ", "tổ"),
        "date": ("date", "date trained", "ngày tập huấn", "ngày"),
        "trainer": ("trainer", "người tập huấn", "giảng viên"),
    }
    required: ClassVar[tuple[str, ...]] = ("member", "team", "date")

    member: str
    team: str
    date: dt.date
    trainer: str = ""

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        return cls(member=text(values, "member"), team=text(values, "team"), date=day(values, "date"),
                   trainer=optional_text(values, "trainer"))

    @property
    def identity(self) -> str:
        return _key(self.team, self.member)

    @property
    def day(self) -> dt.date:
        return self.date
