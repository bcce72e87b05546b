"""What KPIs measure from: ``KpiData``, read once from the stores by ``load_data``.

A KPI never opens a store itself: ``load_data`` reads the sign-up store, the SMS ledger
and the broadcast as-run store of a campaign into plain values, and every KPI's
``measure(data, period)`` computes from them.  Tests build ``KpiData`` by hand.

Reach records (``ReachFact``) are one figure of one channel on one day and area, with
the channel's counting method in words; ``load_data`` makes them for SMS (delivered
messages, carrier-reported totals) and loudspeaker broadcasting (confirmed sketch
airings × the station's listeners); other channels' records are passed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import pendulum

from ..campaign import Campaign, Period
from ..regions import Level

__all__ = [
    "KpiData",
    "ReachFact",
    "SignupFact",
    "load_data",
]

SMS_METHOD = "SMS delivered to a subscriber (ledger delivery reports), one reach per delivered message"
CARRIER_METHOD = "carrier-run broadcast: the subscribers the carrier reports as delivered"
BROADCAST_METHOD = "loudspeaker: each confirmed sketch airing × the station's estimated listeners"


class SignupFact(NamedTuple):
    """One stored sign-up event, as KPIs read it (``occurred_at`` epoch seconds, ``day``
    its local date YYYY-MM-DD, ``phone_hash`` the keyed hash or ``None``)."""

    platform: str
    kind: str
    occurred_at: float
    day: str
    phone_hash: str | None
    commune_code: str | None
    team_code: str | None
    rule: str


class ReachFact(NamedTuple):
    """Reaches of one ``channel`` (a ``[channels.<key>]`` key or kind) on one local
    ``day``, in one area when known (``district_code``/``commune_code``), counted by
    ``method`` (words)."""

    channel: str
    day: str
    reaches: int
    method: str
    district_code: str | None = None
    commune_code: str | None = None


@attrs.frozen
class KpiData:
    """The inputs of every KPI for one campaign.

    ``signups``: events of the measured period (all kinds); ``reach``: reach records of
    every channel; ``sms_deliveries``: keyed phone hash → epoch seconds of the SMS
    delivered to that number (``None``: no match possible, ``sms_note`` says why);
    ``sms_subscribers``: the subscriber base the carriers reported (a bound for coverage);
    ``as_of``: the last day counted; ``notes``: facts about missing inputs."""

    campaign: Campaign
    as_of: pendulum.Date
    signups: Sequence[SignupFact] = ()
    reach: Sequence[ReachFact] = ()
    sms_deliveries: Mapping[str, Sequence[float]] | None = None
    sms_subscribers: int | None = None
    sms_note: str = ""
    attribution_window_days: int = 7
    #: channels whose reaches are distinct people (SMS: one message per subscriber)
    distinct_channels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict)

    def district_of(self, code: str | None) -> str | None:
        """The district code of a commune or district code (``None`` if unknown)."""
        if code is None:
            return None
        regions = self.campaign.regions
        try:
            region = regions.get(code)
        except (KeyError, ValueError, LookupError):
            return None
        if region.level is Level.DISTRICT:
            return region.code
        if region.level is Level.COMMUNE:
            return region.parent_code
        return None

    def region_name(self, code: str | None) -> str:
        if code is None:
            return ""
        try:
            return self.campaign.regions.get(code).name
        except (KeyError, ValueError, LookupError):
            return code


def _day(stamp: float, tz: str) -> str:
    return pendulum.from_timestamp(stamp, tz=tz).date().isoformat()


def load_data(
    campaign: Campaign,
    period: Period,
    *,
    signups: Any | None = None,
    ledger: Any | None = None,
    confirmations: Iterable[Any] | None = None,
    extra_reach: Iterable[ReachFact] = (),
    phone_hasher: Any | None = None,
    attribution_window_days: int = 7,
) -> KpiData:
    """Read the stores into ``KpiData`` for ``period`` (its ``end`` is the as-of day).

    ``signups``: a store with ``events(first_day, last_day)`` (``SqliteSignupStore``);
    ``ledger``: an ``SqliteLedger``; ``confirmations``: the broadcast channel's as-run
    ``Confirmation``s; ``phone_hasher``: a callable E.164 → keyed hash (a
    ``Pseudonymizer``'s ``hash``) — without it no install can be matched with an SMS.
    Any of them may be ``None``: the KPIs that need it say so in their notes.
    """
    notes: list[str] = []
    first, last = period.start.isoformat(), period.end.isoformat()
    facts: list[SignupFact] = []
    if signups is None:
        notes.append("no sign-up store: installs are 0")
    else:
        facts = [SignupFact(*row) for row in signups.events(first, last)]
    reach: list[ReachFact] = list(extra_reach)
    deliveries: dict[str, list[float]] | None = None
    subscribers: int | None = None
    sms_note = ""
    sms_keys = [plan.key for plan in campaign.channels_of_kind("sms")]
    if ledger is None:
        if sms_keys:
            notes.append("no SMS ledger: SMS reach is 0")
        sms_note = "no SMS ledger"
    else:
        channel = sms_keys[0] if sms_keys else "sms"
        for day, n in ledger.delivered_by_day(campaign.id).items():
            if first <= day <= last:
                reach.append(ReachFact(channel, day, n, SMS_METHOD))
        for order in ledger.broadcast_orders(campaign.id):
            if order.delivered is None or order.reported_at is None:
                continue
            day = order.reported_at.in_timezone(period.timezone).date().isoformat()
            if not first <= day <= last:
                continue
            subscribers = (subscribers or 0) + (order.subscribers or 0)
            placed = 0
            for area in order.areas:
                district = _district(campaign, area.area)
                reach.append(ReachFact(channel, day, area.delivered, CARRIER_METHOD, district,
                                       area.area if district != area.area else None))
                placed += area.delivered
            if order.delivered > placed:
                reach.append(ReachFact(channel, day, order.delivered - placed, CARRIER_METHOD))
        if phone_hasher is None:
            sms_note = "no pseudonym key: installs cannot be matched with SMS"
        else:
            deliveries = defaultdict(list)
            for msisdn, at in ledger.delivered_numbers(campaign.id):
                try:
                    deliveries[phone_hasher(msisdn)].append(float(at))
                except ValueError:
                    continue  # not a mobile number: it cannot match a sign-up either
            deliveries = dict(deliveries)
    if confirmations is not None:
        reach.extend(_broadcast_reach(campaign, confirmations, first, last))
    return KpiData(
        campaign=campaign, as_of=period.end, signups=facts, reach=reach,
        sms_deliveries=deliveries, sms_subscribers=subscribers, sms_note=sms_note,
        attribution_window_days=attribution_window_days, notes=tuple(notes),
        distinct_channels=tuple(sms_keys) or ("sms",),
    )


def _district(campaign: Campaign, code: str) -> str | None:
    try:
        region = campaign.regions.get(code)
    except (KeyError, ValueError, LookupError):
        return None
    return region.code if region.level is Level.DISTRICT else region.parent_code


def _broadcast_reach(campaign: Campaign, confirmations: Iterable[Any], first: str, last: str) -> list[ReachFact]:
    plans = campaign.channels_of_kind("broadcast")
    if not plans:
        return []
    key, channel = plans[0].key, plans[0].channel
    sketch_ids = {s.id for s in channel.sketches}
    stations = {s.code: s for s in channel.stations}
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for c in confirmations:
        day = c.day.isoformat()
        station = stations.get(c.station)
        if station is None or c.item not in sketch_ids or not first <= day <= last:
            continue
        commune = station.admin_code if station.admin_code != station.district_code else ""
        totals[(day, station.district_code, commune)] += station.listeners
    return [ReachFact(key, day, n, BROADCAST_METHOD, district, commune or None)
            for (day, district, commune), n in sorted(totals.items())]


def store_paths(campaign: Campaign) -> dict[str, Path]:
    """Where the campaign's stores are: ``signups``, ``ledger``, ``broadcast`` (those configured)."""
    paths: dict[str, Path] = {}
    if campaign.signups is not None:
        paths["signups"] = Path(campaign.signups.store_path)
    for plan in campaign.channels_of_kind("sms")[:1]:
        paths["ledger"] = Path(plan.channel.ledger_path())
    for plan in campaign.channels_of_kind("broadcast")[:1]:
        paths["broadcast"] = Path(plan.channel.store_path)
    return paths
