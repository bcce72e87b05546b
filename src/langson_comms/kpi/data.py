"""What KPIs measure from: ``KpiData``, read once from the stores by ``load_data``.

A KPI never opens a store itself: ``load_data`` reads the sign-up store, the SMS ledger
and the broadcast as-run store of a campaign into plain values, and every KPI's
``measure(data, period)`` computes from them.  Tests build ``KpiData`` by hand.

Reach records (``ReachFact``) are one figure of one channel on one day and area, with
the channel's counting method in words: the ``ReachRecord``s every channel produces
(``langson_comms.reach.reach_records``), flattened.
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
from .compliance import Compliance

__all__ = [
    "KpiData",
    "ReachFact",
    "SignupFact",
    "aggregate_reach",
    "load_data",
    "reach_fact",
]



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
    #: cadence and compliance, training records included (``None``: not read)
    compliance: Compliance | None = None
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


def reach_fact(record: Any) -> ReachFact:
    """A ``ReachFact`` from a ``langson_comms.reach.ReachRecord`` (or a ``ReachFact``)."""
    if isinstance(record, ReachFact):
        return record
    return ReachFact(record.channel, record.day.isoformat(), record.count, record.method,
                     record.district_code, record.commune_code)


def aggregate_reach(records: Iterable[Any], first: str = "", last: str = "9999") -> list[ReachFact]:
    """Reach records (``ReachRecord``s or ``ReachFact``s) of days ``first``..``last``
    (YYYY-MM-DD, inclusive) summed per channel, day, method, district and commune: every
    KPI sums them, so one fact per group gives the same figures from far fewer values."""
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for r in records:
        if isinstance(r, ReachFact):
            totals[(r.channel, r.day, r.method, r.district_code, r.commune_code)] += r.reaches
        else:
            totals[(r.channel, r.day, r.method, r.district_code, r.commune_code)] += r.count
    facts = []
    for (channel, day, method, district, commune), n in totals.items():
        text = day if isinstance(day, str) else day.isoformat()
        if first <= text <= last:
            facts.append(ReachFact(channel, text, n, method, district, commune))
    facts.sort(key=lambda f: (f.day, f.channel))
    return facts


def load_data(
    campaign: Campaign,
    period: Period,
    *,
    signups: Any | None = None,
    ledger: Any | None = None,
    reach: Iterable[Any] = (),
    phone_hasher: Any | None = None,
    attribution_window_days: int = 7,
    hash_cache: Any | None = None,
    signup_cache: Any | None = None,
) -> KpiData:
    """Read the stores into ``KpiData`` for ``period`` (its ``end`` is the as-of day).

    ``signups``: a store with ``events(first_day, last_day)`` (``SqliteSignupStore``);
    ``reach``: the campaign's reach records (``langson_comms.reach.reach_records``: every
    channel's, SMS and broadcast from their own stores) or ``ReachFact``s;
    ``ledger``: an ``SqliteLedger``, for the carriers' subscriber base and matching
    installs with delivered SMS; ``phone_hasher``: a callable E.164 → keyed hash (a
    ``Pseudonymizer``'s ``hash``) — without it no install can be matched with an SMS;
    ``hash_cache``: a ``HashCache`` keeping the ledger's hashes between calls;
    ``signup_cache``: a ``SignupCache`` keeping the sign-ups read between calls.  Any of
    them may be ``None``: the KPIs that need it say so in their notes.
    """
    notes: list[str] = []
    first, last = period.start.isoformat(), period.end.isoformat()
    facts: list[SignupFact] = []
    if signups is None:
        notes.append("no sign-up store: installs are 0")
    else:
        facts = (signup_cache.facts(signups, first, last) if signup_cache is not None
                 else [SignupFact(*row) for row in signups.events(first, last)])
    facts_reach = aggregate_reach(reach, first, last)
    deliveries: dict[str, list[float]] | None = None
    subscribers: int | None = None
    sms_note = ""
    sms_keys = [plan.key for plan in campaign.channels_of_kind("sms")]
    if ledger is None:
        sms_note = "no SMS ledger"
    else:
        for order in ledger.broadcast_orders(campaign.id):
            if order.subscribers is not None and order.reported_at is not None:
                subscribers = (subscribers or 0) + order.subscribers
        if phone_hasher is None:
            sms_note = "no pseudonym key: installs cannot be matched with SMS"
        else:
            # Only the numbers of the period's sign-ups can match.
            wanted = {fact.phone_hash for fact in facts if fact.phone_hash}
            if not wanted:
                deliveries = {}
            elif hash_cache is not None:
                deliveries = hash_cache.deliveries(ledger, campaign.id, phone_hasher, wanted)
            else:
                deliveries = _match(ledger, campaign.id, phone_hasher, wanted)
    return KpiData(
        campaign=campaign, as_of=period.end, signups=facts, reach=facts_reach,
        sms_deliveries=deliveries, sms_subscribers=subscribers, sms_note=sms_note,
        attribution_window_days=attribution_window_days, notes=tuple(notes),
        distinct_channels=tuple(sms_keys) or ("sms",),
    )


def _match(ledger: Any, campaign: str, hasher: Any, wanted: set[str]) -> dict[str, list[float]]:
    """Hash every ledger row's number now (no cache) and keep the delivered ones wanted."""
    ids: dict[int, str] = {}
    for sms_id, msisdn in ledger.numbers_after(campaign, 0):
        try:
            hashed = hasher(msisdn)
        except ValueError:
            continue  # not a mobile number: it cannot match a sign-up either
        if hashed in wanted:
            ids[sms_id] = hashed
    found: dict[str, list[float]] = defaultdict(list)
    for sms_id, at in ledger.delivered_times(list(ids)).items():
        found[ids[sms_id]].append(float(at))
    return dict(found)


def store_paths(campaign: Campaign) -> dict[str, Path]:
    """Where the campaign's stores are: ``signups``, ``ledger``, ``activity`` (those configured;
    the activity store is ``.langson/activity.sqlite`` next to the campaign file, as the
    ``activity`` commands keep it, or under ``build_campaign``'s ``base_dir``).  A ledger on
    PostgreSQL has no path: it is left out."""
    paths: dict[str, Path] = {}
    if campaign.signups is not None:
        paths["signups"] = Path(campaign.signups.store_path)
    for plan in campaign.channels_of_kind("sms")[:1]:
        ledger = plan.channel.ledger_location().path
        if ledger is None:
            continue  # a PostgreSQL ledger: no file (``measure_stores`` opens it by URL)
        paths["ledger"] = Path(ledger)
        paths["hash_cache"] = paths["ledger"].with_name(paths["ledger"].name + ".hashes")
    if campaign.base_dir is not None:
        paths["activity"] = Path(campaign.base_dir) / ".langson" / "activity.sqlite"
    elif campaign.source is not None:
        paths["activity"] = Path(campaign.source).parent / ".langson" / "activity.sqlite"
    return paths
