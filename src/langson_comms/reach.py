"""Reach: the one record type every channel's reach is counted in, and the call that lists it.

The plan counts "information reaches" (lượt tiếp cận thông tin): one person reached by
one message once.  Every channel produces its reach as ``ReachRecord``s through the
channel activity contract (``langson_comms.activity.contract``):

* logged channels (press, visual, social, outreach, third-party channels) turn each
  activity record into reach records when it is logged; the activity store keeps them;
* channels that run work (SMS, broadcast) read their own stores (the SMS ledger, the
  as-run store) in ``ActivityChannel.stored_reach``.

``reach_records(campaign, period, activity=store)`` lists them all, channel by channel,
and is what the KPI layer sums.  A reach figure is often an estimate; ``method`` writes
out how it was made ("print run × 2.5 readers per copy", "views reported by Facebook",
"delivered SMS reported by the carrier"), so a reader of a KPI can tell estimates from
counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import attrs

from .regions import canonical_code

if TYPE_CHECKING:
    from .activity.store import ActivityStore
    from .campaign import Campaign, Period

__all__ = ["ReachRecord", "reach_records"]


def _count(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number ≥ 0, got {value!r}")


def _optional_code(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value.__class__ is str and value.isdigit() and value[0] != "0":  # type: ignore[attr-defined]
        return value  # type: ignore[return-value]  # already canonical (the common case)
    return canonical_code(value)


@attrs.frozen(slots=True)
class ReachRecord:
    """Reaches of one channel on one local day, in one area when known.

    * ``day``: the local date (Asia/Ho_Chi_Minh) the reaches happened;
    * ``channel``: the channel's key in the campaign (``[channels.<key>]``);
    * ``count``: the number of reaches (≥ 0);
    * ``method``: how ``count`` was made, written out for people
      (``"print run × 2.5 readers per copy"``, ``"delivered messages in the SMS ledger"``);
    * ``source``: where it comes from (``press.csv:12``, ``sms ledger``, ``as-run store``);
    * ``district_code`` / ``commune_code``: official unit codes (canonical, leading zeros
      dropped) when the area is known, else ``None``;
    * ``kind``: the channel's kind (``press``, ``sms``…) — ``""`` when not known.
    """

    day: dt.date
    channel: str
    count: int = attrs.field(validator=_count)
    method: str
    source: str
    district_code: str | None = attrs.field(default=None, kw_only=True, converter=_optional_code)
    commune_code: str | None = attrs.field(default=None, kw_only=True, converter=_optional_code)
    kind: str = attrs.field(default="", kw_only=True)


def reach_records(
    campaign: Campaign,
    period: Period | None = None,
    *,
    activity: ActivityStore | None = None,
    channels: Iterable[str] | None = None,
) -> Iterator[ReachRecord]:
    """Every reach record of the campaign's channels, day by day, inside ``period``.

    ``period`` defaults to the campaign's.  ``activity`` is the activity store holding
    the logged channels' reach (``langson_comms.activity.SqliteActivityStore``); without
    it only the channels with their own stores (SMS ledger, broadcast as-run store)
    contribute.  ``channels`` limits the listing to those channel keys.  Channels that do
    not implement the activity contract contribute nothing.  Records come channel by
    channel in the campaign's order; within one channel in no particular order.
    """
    from .activity.contract import is_activity_channel

    period = period or campaign.period
    wanted = None if channels is None else set(channels)
    for key, plan in campaign.channels.items():
        if wanted is not None and key not in wanted:
            continue
        channel = plan.channel
        if not is_activity_channel(channel):
            continue
        if activity is not None:
            yield from activity.reach(key, period.start, period.end)
        for record in channel.stored_reach(key, campaign, period):
            if period.start <= record.day <= period.end:
                yield record
