"""Loading, building and summarising a campaign from Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..campaign import Campaign
from ..runtime import Runtime

__all__ = ["CampaignSummary", "build_campaign", "load_campaign", "summarise_campaign"]


def load_campaign(path: str | Path, *, runtime: Runtime | None = None) -> Campaign:
    """Read and check a campaign file (``CampaignFileError`` lists every located problem)."""
    return (runtime or Runtime.create()).load_campaign(path)


def build_campaign(data: Mapping[str, Any], *, runtime: Runtime | None = None,
                   source: str = "<python>", base_dir: str | Path | None = None) -> Campaign:
    """Check and build a campaign from Python values shaped like the campaign file::

        build_campaign({"campaign": {"id": "x", "title": "X", "start": date(2022, 6, 10),
                                    "end": date(2022, 12, 31)},
                        "messages": {"value": {"text": "..."}}})

    The same checks as a file; ``CampaignFileError`` lists every problem, each named by its
    attribute path (``<python>: campaign.end: …``)."""
    return (runtime or Runtime.create()).build_campaign(data, source=source,
                                                        base_dir=base_dir)


@attrs.frozen
class CampaignSummary:
    """What ``validate`` prints: period, messages, channels, targets, regions, teams."""

    id: str
    title: str
    period: Mapping[str, Any]
    messages: Mapping[str, Mapping[str, str | None]]
    channels: Mapping[str, Mapping[str, str]]
    targets: Mapping[str, Mapping[str, str]]
    regions: Mapping[str, int]
    teams: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {key: dict(value) if isinstance(value, Mapping) else value
                for key, value in attrs.asdict(self, recurse=False).items()}


def summarise_campaign(campaign: Campaign) -> CampaignSummary:
    """A short account of a checked campaign."""
    levels = Counter(region.level.value for region in campaign.regions)
    members = [m for team in campaign.teams for m in team.members]
    return CampaignSummary(
        id=campaign.id, title=campaign.title,
        period={"start": str(campaign.period.start), "end": str(campaign.period.end),
                "timezone": campaign.period.timezone, "days": campaign.period.days},
        messages={key: {"classification": m.classification.value,
                        "classified_by": m.classified_by}
                  for key, m in campaign.messages.items()},
        channels={key: {"kind": plan.kind, "plan": _describe(plan.channel)}
                  for key, plan in campaign.channels.items()},
        targets={key: {"kind": target.kind, "target": _describe(target.kpi)}
                 for key, target in campaign.targets.items()},
        regions=dict(sorted(levels.items())),
        teams={"teams": len(campaign.teams), "members": len(members),
               "trained": sum(m.trained for m in members)},
    )


def _describe(obj: Any) -> str:
    describe = getattr(obj, "describe", None)
    return str(describe()) if callable(describe) else type(obj).__name__
