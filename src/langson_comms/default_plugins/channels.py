"""Built-in channels that are logged rather than driven: press, visual, social, outreach.

Each is an ordinary plugin class: a ``name``, a ``from_config`` classmethod and
``check_campaign`` for cross-references.  SMS and loudspeaker broadcasting have their
own modules (``sms``, ``broadcast``) because they run work, not just plans.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from langson_comms import hookimpl
from langson_comms.campaign import Campaign
from langson_comms.config import ConfigContext, FromTable, at_least


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
class PressChannel(FromTable, _ChecksMessages):
    """Newspaper and radio/TV reports, at least ``min_reports_per_week`` a week."""

    name: ClassVar[str] = "press"
    outlets: list[str] = attrs.field(validator=attrs.validators.min_len(1))
    min_reports_per_week: int = attrs.field(default=1, validator=at_least(1))
    topics: list[str] = attrs.field(factory=list)
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""

    def describe(self) -> str:
        return f"≥ {self.min_reports_per_week} report(s)/week in {', '.join(self.outlets)}"


@attrs.frozen
class VisualChannel(FromTable, _ChecksMessages):
    """LED boards, website banners and video clips on city-centre LED screens."""

    name: ClassVar[str] = "visual"
    led_boards: bool = True
    website_banners: bool = True
    video_clips: int = attrs.field(default=0, validator=at_least(0))
    screens: list[str] = attrs.field(factory=list)
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""

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
class SocialChannel(FromTable, _ChecksMessages):
    """Posts in the teams' Zalo groups and on the province's pages, run continuously."""

    name: ClassVar[str] = "social"
    platforms: list[str] = attrs.field(validator=_platforms)
    pages: list[str] = attrs.field(factory=list)
    continuous: bool = True
    messages: list[str] = attrs.field(factory=list)
    owner: str = ""

    def describe(self) -> str:
        return f"{', '.join(self.platforms)}; {len(self.pages)} page(s)/group(s)"


@attrs.frozen
class OutreachChannel(FromTable):
    """Door-to-door help by the community digital-technology teams."""

    name: ClassVar[str] = "outreach"
    slogans: list[str] = attrs.field(factory=list)
    require_trained: bool = True
    daily_report: bool = True
    owner: str = ""

    def check_campaign(self, campaign: Campaign, context: ConfigContext) -> None:
        _check_messages(self.slogans, campaign, context, "slogans")
        if not campaign.teams:
            raise context.error("outreach needs teams: add a [teams] table with a teams file")

    def describe(self) -> str:
        return "door to door by community teams" + (", daily report" if self.daily_report else "")


@hookimpl
def register_channels() -> list[type[Any]]:
    return [PressChannel, VisualChannel, SocialChannel, OutreachChannel]
