"""Cadence and compliance: press weeks missed, social days without a post, outreach days
without a report, loudspeaker airings aired vs planned per district, SMS delivery rate.

``compliance_of(campaign, period, …)`` reads what the channels already judge — the
activity channels' cadence gaps (``langson_comms.activity.activity_status``), the
broadcast plan against its as-run confirmations (``broadcast.asrun.compliance``), the
SMS ledger's state counts — into one ``Compliance`` value of the ``Measurement``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..campaign import Campaign, Period

__all__ = ["Compliance", "compliance_of"]


@attrs.frozen
class Compliance:
    """Cadence and compliance figures (``None``: the channel or its store is absent).

    ``cadence_gaps``: per activity channel, its gaps (``{"from", "to", "group", "expected",
    "found", "rule"}``); ``press_weeks_missed``: weeks of the whole press channel below
    its minimum; ``social_days_without_post`` and ``outreach_days_without_report``: days
    in the channels' gaps; ``sms_delivery_rate``: delivered / messages with a final
    answer (delivered, failed, expired) in the ledger; ``broadcast_by_district``: per
    district ``{"planned", "aired", "on_time", "late", "missed", "pending", "rate"}``;
    ``training``: the outreach channel's training summary (members trained by the
    period's end, from training records and the teams file); ``visits_before_trained``:
    visits by a team with a member not trained yet that day."""

    cadence_gaps: Mapping[str, tuple[Mapping[str, Any], ...]] = attrs.field(factory=dict)
    press_weeks_missed: int | None = None
    social_days_without_post: int | None = None
    outreach_days_without_report: int | None = None
    sms_delivery_rate: float | None = None
    sms_counts: Mapping[str, int] = attrs.field(factory=dict)
    broadcast_by_district: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    broadcast_total: Mapping[str, Any] | None = None
    training: Mapping[str, Any] | None = None
    visits_before_trained: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cadence_gaps": {k: [dict(g) for g in v] for k, v in self.cadence_gaps.items()},
            "press_weeks_missed": self.press_weeks_missed,
            "social_days_without_post": self.social_days_without_post,
            "outreach_days_without_report": self.outreach_days_without_report,
            "sms_delivery_rate": self.sms_delivery_rate, "sms_counts": dict(self.sms_counts),
            "broadcast_by_district": {k: dict(v) for k, v in self.broadcast_by_district.items()},
            "broadcast_total": None if self.broadcast_total is None else dict(self.broadcast_total),
            "training": None if self.training is None else dict(self.training),
            "visits_before_trained": self.visits_before_trained,
        }


def _gap_days(gaps: tuple[Mapping[str, Any], ...]) -> int:
    import datetime as dt

    return sum((dt.date.fromisoformat(g["to"]) - dt.date.fromisoformat(g["from"])).days + 1
               for g in gaps if g.get("group") is None)


def compliance_of(campaign: Campaign, period: Period, *, activity: Any | None = None,
                  ledger: Any | None = None, registry: Any | None = None) -> Compliance:
    """Compliance of ``campaign`` over ``period`` (see ``Compliance``).

    ``activity``: the activity store; ``ledger``: the SMS ledger; ``registry``: the
    runtime's registry, to build the broadcast plan (without it, no broadcast figures)."""
    gaps: dict[str, tuple[Mapping[str, Any], ...]] = {}
    weeks = social = outreach = visits_early = None
    training = None
    if activity is not None:
        # What ``activity status`` judges, without its reach sums (the KPIs have those).
        from ..activity.contract import ActivityChannel
        from ..activity.log import StoreView

        for key, plan in campaign.channels.items():
            channel = plan.channel
            if not isinstance(channel, ActivityChannel):
                continue
            found = tuple(g.as_dict() for g in channel.cadence_gaps(
                activity.day_counts(key, period.start, period.end), period, key=key))
            gaps[key] = found
            view = StoreView(activity, key, channel)
            if plan.kind == "press":
                weeks = (weeks or 0) + sum(1 for g in found if g.get("group") is None)
            elif plan.kind == "social":
                social = (social or 0) + _gap_days(found)
            elif plan.kind == "outreach":
                outreach = (outreach or 0) + _gap_days(found)
                visits_early = (visits_early or 0) + len(channel.check_activity(view, campaign, period, key=key))
            summary = channel.summary(view, campaign, period, key=key)
            if "training" in summary:
                training = summary["training"]
    rate = None
    counts: dict[str, int] = {}
    if ledger is not None:
        counts = dict(ledger.counts(campaign.id))
        final = sum(counts.get(state, 0) for state in ("delivered", "failed", "expired"))
        rate = counts.get("delivered", 0) / final if final else None
    by_district: dict[str, Mapping[str, Any]] = {}
    total = None
    plans = campaign.channels_of_kind("broadcast")
    if registry is not None and plans:
        channel = plans[0].channel
        path = channel.store_path
        if path.is_file():
            from ..broadcast.asrun import compliance

            with channel.store(path) as store:
                confirmations = store.confirmations()
            report = compliance(channel.schedule(registry), confirmations, channel.stations,
                                as_of=period.end, grace_days=channel.grace_days)
            by_district = {k: v.as_dict() for k, v in report.districts.items()}
            total = report.total.as_dict()
    return Compliance(
        cadence_gaps=gaps, press_weeks_missed=weeks, social_days_without_post=social,
        outreach_days_without_report=outreach, sms_delivery_rate=rate, sms_counts=counts,
        broadcast_by_district=by_district, broadcast_total=total,
        training=None if training is None else dict(training), visits_before_trained=visits_early,
    )
