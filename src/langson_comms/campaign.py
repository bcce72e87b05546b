"""The campaign model: what a campaign is, independent of any file format.

Values are frozen attrs classes.  Channel and KPI configurations are instances of
plugin classes (looked up by ``kind`` in the registry), so a ``ChannelPlan`` carries
whatever its channel plugin needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from .clock import LOCAL_TZ
from .messages import Message
from .regions import RegionRegistry, canonical_code

if TYPE_CHECKING:
    from .signups.settings import SignupsPlan

__all__ = ["Campaign", "ChannelPlan", "KpiTarget", "Period", "Team", "TeamMember"]


@attrs.frozen
class Period:
    """Inclusive local dates; ``starts_at``/``ends_at`` are the aware instants bounding them."""

    start: pendulum.Date
    end: pendulum.Date
    timezone: str = LOCAL_TZ

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def starts_at(self) -> pendulum.DateTime:
        return pendulum.datetime(self.start.year, self.start.month, self.start.day, tz=self.timezone)

    @property
    def ends_at(self) -> pendulum.DateTime:
        """The first instant after the period (midnight after ``end``), exclusive."""
        day = self.end.add(days=1)
        return pendulum.datetime(day.year, day.month, day.day, tz=self.timezone)

    def __contains__(self, day: object) -> bool:
        if isinstance(day, pendulum.DateTime):
            return self.starts_at <= day < self.ends_at
        if isinstance(day, pendulum.Date):
            return self.start <= day <= self.end
        return False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@attrs.frozen
class ChannelPlan:
    """One ``[channels.<key>]`` table: its key, the channel ``kind`` and the built channel object."""

    key: str
    kind: str
    channel: Any


@attrs.frozen
class KpiTarget:
    """One ``[targets.<key>]`` table: its key, the KPI ``kind`` and the built KPI object."""

    key: str
    kind: str
    kpi: Any


@attrs.frozen
class TeamMember:
    name: str
    trained: bool = False
    phone: str | None = None


@attrs.frozen
class Team:
    """A community digital-technology team (Tổ công nghệ số cộng đồng) of one commune."""

    code: str
    name: str
    commune_code: str = attrs.field(converter=canonical_code)
    members: tuple[TeamMember, ...] = ()

    @property
    def trained_share(self) -> float:
        return sum(m.trained for m in self.members) / len(self.members) if self.members else 0.0


@attrs.frozen
class Campaign:
    """A whole campaign: period, messages, channel plans, KPI targets, regions, teams, sign-ups."""

    id: str
    title: str
    period: Period
    messages: Mapping[str, Message] = attrs.field(factory=dict)
    channels: Mapping[str, ChannelPlan] = attrs.field(factory=dict)
    targets: Mapping[str, KpiTarget] = attrs.field(factory=dict)
    regions: RegionRegistry = attrs.field(factory=RegionRegistry, eq=False)
    teams: tuple[Team, ...] = ()
    province_code: str | None = None
    reference: str = ""
    source: str | None = None
    #: the ``[signups]`` table: store, pseudonym key and sources (None when absent)
    signups: SignupsPlan | None = None
    #: the folder its relative paths were read from: the campaign file's folder, or
    #: ``build_campaign``'s ``base_dir`` (None for a ``Campaign`` made by hand)
    base_dir: Path | None = None

    def message(self, key: str) -> Message:
        try:
            return self.messages[key]
        except KeyError:
            raise KeyError(
                f"campaign {self.id!r} has no message {key!r} (has: {', '.join(sorted(self.messages))})"
            ) from None

    def channel(self, key: str) -> Any:
        """The built channel object of ``[channels.<key>]``."""
        try:
            return self.channels[key].channel
        except KeyError:
            raise KeyError(
                f"campaign {self.id!r} has no channel {key!r} (has: {', '.join(sorted(self.channels))})"
            ) from None

    def channels_of_kind(self, kind: str) -> list[ChannelPlan]:
        return [plan for plan in self.channels.values() if plan.kind == kind]
