"""Built-in channels that are logged rather than driven: press, visual, social, outreach.

Each is an ordinary plugin class: a ``name``, a ``from_config`` classmethod and
``check_campaign`` for cross-references, and the public activity contract
(``ActivityChannel``): the records it logs (``activity_records``), their reach, its
cadence rules (docs/activity.md).  SMS and loudspeaker broadcasting have their own
modules (``sms``, ``broadcast``) because they run work, not just plans.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from langson_comms import hookimpl
from langson_comms.activity.contract import (
    ActivityChannel,
    ActivityRecord,
    ActivityView,
    CadenceGap,
    DayCount,
    RowProblem,
    daily_gaps,
    weekly_gaps,
)
from langson_comms.campaign import Campaign, Period, Team
from langson_comms.config import NOT_A_KEY, ConfigContext, FromTable, at_least
from langson_comms.reach import ReachRecord

from .activity_records import Clip, Placement, PressItem, SocialPost, TeamVisit, Training


def _district_of(campaign: Campaign, code: str | None, on: dt.date,
                 field: str = "district") -> tuple[str | None, str | None]:
    """(district, commune) of a unit code, checked against the campaign's regions
    (``RowProblem`` on ``field`` for a code that is not one of them)."""
    if code is None:
        return None, None
    if not len(campaign.regions):
        return code, None
    try:
        region = campaign.regions.get(code)
    except KeyError:
        raise RowProblem(field, f"{code} is not a unit of the campaign's [regions]") from None
    if region.level.value == "commune":
        return region.parent_code, region.code
    return region.code, None


def _person(name: str) -> str:
    """A member's name as compared: case and runs of spaces do not matter."""
    return " ".join(name.split()).casefold()


def _members(campaign: Campaign, team_code: str) -> frozenset[str]:
    """The compared names of one team's members in the teams file (empty: none listed)."""
    for team in campaign.teams:
        if team.code == team_code:
            return frozenset(_person(m.name) for m in team.members if m.name.strip())
    return frozenset()


def _days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    while first <= last:
        yield first
        first += dt.timedelta(days=1)


def _check_messages(keys: list[str], campaign: Campaign, ctx: ConfigContext, field: str) -> None:
    for i, key in enumerate(keys):
        if key not in campaign.messages:
            known = ", ".join(sorted(campaign.messages)) or "none"
            raise ctx.error(f"{key!r} is not a message of this campaign (known: {known})", f"{field}[{i}]")


class _ChecksMessages:
    """``check_campaign`` for channels with a ``messages`` list of message keys."""

    messages: list[str]

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        _check_messages(self.messages, campaign, context, "messages")


@attrs.frozen
class PressChannel(FromTable, _ChecksMessages, ActivityChannel):
    """Newspaper and radio/TV reports, at least ``min_reports_per_week`` a week.

    Logs ``PressItem``s.  Reach of an item: its ``audience`` when the log gives one, else
    ``print_run × readers_per_copy``, else the outlet's default from ``audiences``.
    Cadence: every week (Monday–Sunday) of the campaign needs ``min_reports_per_week``
    reports in each outlet and in total.
    """

    name: ClassVar[str] = "press"
    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (PressItem,)
    outlets: list[str] = attrs.field(validator=attrs.validators.min_len(1))
    min_reports_per_week: int = attrs.field(default=1, validator=at_least(1))
    topics: list[str] = attrs.field(factory=list)
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""
    #: outlet → estimated audience of one report (used when a log row gives none)
    audiences: dict[str, int] = attrs.field(factory=dict)
    readers_per_copy: float = 2.5

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        super().check_campaign(campaign, context)
        for outlet, audience in self.audiences.items():
            if outlet not in self.outlets:
                raise context.error(f"{outlet!r} is not one of the outlets ({', '.join(self.outlets)})",
                                    f"audiences.{outlet}")
            if audience < 0:
                raise context.error("must be at least 0", f"audiences.{outlet}")
        if self.readers_per_copy <= 0:
            raise context.error("must be more than 0", "readers_per_copy")

    def reach(self, record: PressItem, *, key: str, campaign: Campaign, source: str) -> Iterator[ReachRecord]:
        if record.outlet not in self.outlets:
            raise RowProblem("outlet", f"{record.outlet!r} is not an outlet of channel {key!r} "
                             f"(expected one of: {', '.join(self.outlets)})")
        if record.audience is not None:
            count, method = record.audience, "audience estimate given in the log"
        elif record.print_run is not None:
            count = round(record.print_run * self.readers_per_copy)
            method = f"print run × {self.readers_per_copy:g} readers per copy"
        elif record.outlet in self.audiences:
            count, method = self.audiences[record.outlet], f"default audience of {record.outlet} (campaign file)"
        else:
            raise RowProblem("audience", f"no audience: give audience or print run, or set [channels.{key}] "
                             f"audiences for {record.outlet!r}")
        yield ReachRecord(record.date, key, count, method, source, kind=self.name)

    def cadence_gaps(self, days: Sequence[DayCount], period: Period, *, key: str) -> list[CadenceGap]:
        return weekly_gaps(days, period.start, period.end, self.min_reports_per_week, groups=self.outlets,
                           rule=f"at least {self.min_reports_per_week} report(s) a week")

    def describe(self) -> str:
        return f"≥ {self.min_reports_per_week} report(s)/week in {', '.join(self.outlets)}"


@attrs.frozen
class VisualChannel(FromTable, _ChecksMessages, ActivityChannel):
    """LED boards, website banners and video clips on city-centre LED screens.

    Logs ``Placement``s (reach: the daily audience on every day shown) and ``Clip``s
    (reach: plays per day × viewers per play on every day played; ``viewers_per_play``
    from the row, else this table's).  No cadence; a warning when fewer distinct clips
    were logged than ``video_clips`` planned.
    """

    name: ClassVar[str] = "visual"
    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (Placement, Clip)
    led_boards: bool = True
    website_banners: bool = True
    video_clips: int = attrs.field(default=0, validator=at_least(0))
    screens: list[str] = attrs.field(factory=list)
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""
    #: estimated people watching one play of a clip (when a clip row gives none)
    viewers_per_play: int | None = attrs.field(default=None, validator=attrs.validators.optional(at_least(0)))

    def reach(self, record: Placement | Clip, *, key: str, campaign: Campaign,
              source: str) -> Iterator[ReachRecord]:
        district, commune = _district_of(campaign, record.district, record.start)
        if isinstance(record, Placement):
            count = record.daily_audience
            method = ("daily passers-by estimate of the LED board" if record.medium == "board"
                      else "daily page views of the website")
        else:
            viewers = record.viewers_per_play if record.viewers_per_play is not None else self.viewers_per_play
            if viewers is None:
                raise RowProblem("viewers_per_play",
                                 f"no viewers per play: give the column or set [channels.{key}] viewers_per_play")
            count = record.plays_per_day * viewers
            method = f"{record.plays_per_day} plays a day × {viewers} viewers per play"
        for day in _days(record.start, record.end):
            yield ReachRecord(day, key, count, method, source, district_code=district, commune_code=commune,
                              kind=self.name)

    def check_activity(self, view: ActivityView, campaign: Campaign, period: Period, *,
                       key: str) -> list[str]:
        clips = {r.clip for r in view.records("clip") if isinstance(r, Clip)}
        if len(clips) < self.video_clips:
            return [f"{self.video_clips} video clip(s) planned, {len(clips)} logged"]
        return []

    def describe(self) -> str:
        parts = [p for p, on in (("LED boards", self.led_boards), ("web banners", self.website_banners)) if on]
        if self.video_clips:
            parts.append(f"{self.video_clips} video clip(s)")
        return ", ".join(parts) or "nothing planned"


SOCIAL_PLATFORMS = ("zalo", "facebook", "youtube", "tiktok")


def _platforms(_: object, attribute: attrs.Attribute[list[str]], value: list[str]) -> None:
    if not value:
        raise ValueError("platforms must name at least one platform")
    for item in value:
        if item not in SOCIAL_PLATFORMS:
            raise ValueError(f"{item!r} is not a platform (expected one of: {', '.join(SOCIAL_PLATFORMS)})")


@attrs.frozen
class SocialChannel(FromTable, _ChecksMessages, ActivityChannel):
    """Posts in the teams' Zalo groups and on the province's pages, run continuously.

    Logs ``SocialPost``s.  Reach: the views (reach) the platform reports, else the
    group's members.  With ``continuous``, every day of the campaign without a post is
    a gap (runs of days are one gap).
    """

    name: ClassVar[str] = "social"
    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (SocialPost,)
    platforms: list[str] = attrs.field(validator=_platforms)
    pages: list[str] = attrs.field(factory=list)
    continuous: bool = True
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""

    def reach(self, record: SocialPost, *, key: str, campaign: Campaign, source: str) -> Iterator[ReachRecord]:
        if record.platform not in self.platforms:
            raise RowProblem("platform", f"{record.platform!r} is not a platform of channel {key!r} "
                             f"(expected one of: {', '.join(self.platforms)})")
        if record.views is not None:
            count, method = record.views, f"views reported by {record.platform.capitalize()}"
        else:
            count, method = record.members or 0, "members of the group (no views reported)"
        yield ReachRecord(record.date, key, count, method, source, kind=self.name)

    def cadence_gaps(self, days: Sequence[DayCount], period: Period, *, key: str) -> list[CadenceGap]:
        if not self.continuous:
            return []
        return daily_gaps(days, period.start, period.end, rule="continuous: a post every day")

    def describe(self) -> str:
        return f"{', '.join(self.platforms)}; {len(self.pages)} page(s)/group(s)"


@attrs.frozen
class OutreachChannel(FromTable, ActivityChannel):
    """Door-to-door help by the community digital-technology teams.

    Logs ``TeamVisit``s (reach: the people helped, else the households visited, in the
    visit's commune) and ``Training`` records.  A member is trained from the date of
    their training record (or, without one, when the teams file says so).  With
    ``require_trained``, every visit by a team with a member not yet trained that day is
    a warning (one per team and day); with ``daily_report``, days without any visit report are
    cadence gaps.
    """

    name: ClassVar[str] = "outreach"
    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (TeamVisit, Training)
    slogans: list[str] = attrs.field(factory=list)
    require_trained: bool = True
    daily_report: bool = True
    owner: str = ""
    #: the team codes of the last campaign teams asked about (a log asks once per row);
    #: held by this channel, so by its campaign: not a key of the table
    _codes: list[tuple[tuple[Team, ...], frozenset[str]]] = attrs.field(
        factory=list, init=False, eq=False, repr=False, metadata={NOT_A_KEY: True})

    def _team_codes(self, teams: tuple[Team, ...]) -> frozenset[str]:
        """The codes of ``teams``, memoised for the last tuple asked about (the tuple is
        kept, so its identity cannot be reused)."""
        if self._codes and self._codes[0][0] is teams:
            return self._codes[0][1]
        codes = frozenset(t.code for t in teams)
        self._codes[:] = [(teams, codes)]
        return codes

    def reach(self, record: TeamVisit | Training, *, key: str, campaign: Campaign,
              source: str) -> Iterator[ReachRecord]:
        teams = self._team_codes(campaign.teams)
        if teams and record.team not in teams:
            raise RowProblem("team", f"{record.team!r} is not a team of the campaign's teams file")
        if isinstance(record, Training):
            members = _members(campaign, record.team)
            if members and _person(record.member) not in members:
                raise RowProblem("member", f"{record.member!r} is not a member of team {record.team} in the "
                                           "teams file (expected the name as written there)")
            return
        district, commune = _district_of(campaign, record.commune, record.date, "commune")
        if record.people_helped:
            count, method = record.people_helped, "people helped on the visit"
        else:
            count, method = record.households, "households visited (1 reach per household)"
        yield ReachRecord(record.date, key, count, method, source, district_code=district,
                          commune_code=commune, kind=self.name)

    def cadence_gaps(self, days: Sequence[DayCount], period: Period, *, key: str) -> list[CadenceGap]:
        if not self.daily_report:
            return []
        return daily_gaps([d for d in days if d.kind == "visit"], period.start, period.end,
                          rule="daily report: a visit report every day")

    def _trained_on(self, view: ActivityView, campaign: Campaign) -> list[tuple[str, dt.date | None]]:
        """(team, the date trained) of every member, each member of the teams file once
        (``date.min`` when the teams file says trained and no record dates it; ``None`` not
        trained), plus the names found in training records for a team the file lists no
        members for.  The records know a member by team and name only: a record dates
        every namesake of that name in the team (docs/activity.md)."""
        records: dict[tuple[str, str], dt.date] = {}
        for record in view.records("training"):
            if isinstance(record, Training):
                records[(record.team, _person(record.member))] = record.date
        members: list[tuple[str, dt.date | None]] = []
        listed: set[str] = set()
        for team in campaign.teams:
            if team.members:
                listed.add(team.code)
            for member in team.members:
                default = dt.date.min if member.trained else None
                members.append((team.code, records.get((team.code, _person(member.name)), default)))
        members.extend((team, when) for (team, _), when in records.items() if team not in listed)
        return members

    def check_activity(self, view: ActivityView, campaign: Campaign, period: Period, *,
                       key: str) -> list[str]:
        if not self.require_trained:
            return []
        trained = self._trained_on(view, campaign)
        never: dict[str, int] = {}
        dates: dict[str, list[dt.date]] = {}
        for team, when in trained:
            if when is None:
                never[team] = never.get(team, 0) + 1
            else:
                dates.setdefault(team, []).append(when)
        for found in dates.values():
            found.sort()
        warnings = []
        for team, day, visits in sorted((d.group or "", d.day, d.records) for d in view.day_counts("visit")):
            found = dates.get(team, [])
            untrained = never.get(team, 0) + len(found) - bisect.bisect_right(found, day)
            if untrained:
                warnings.append(f"{visits} visit(s) of team {team} on {day}: "
                                f"{untrained} member(s) not trained yet")
        return warnings

    def summary(self, view: ActivityView, campaign: Campaign, period: Period, *,
                key: str) -> Mapping[str, Any]:
        trained = self._trained_on(view, campaign)
        done = sum(1 for _, when in trained if when is not None and when <= period.end)
        total = len(trained)
        return {"training": {"members": total, "trained": done,
                             "percent": round(100 * done / total, 1) if total else None}}

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        _check_messages(self.slogans, campaign, context, "slogans")
        if not campaign.teams:
            raise context.error("outreach needs teams: add a [teams] table with a teams file")

    def describe(self) -> str:
        return "door to door by community teams" + (", daily report" if self.daily_report else "")


@hookimpl
def register_channels() -> list[type[Any]]:
    return [PressChannel, VisualChannel, SocialChannel, OutreachChannel]
