"""Reach the SMS and broadcast channels keep in their own stores, as ``ReachRecord``s.

* SMS: every message the SMS ledger holds as ``delivered`` is one reach on the local
  day of its delivery report (method: "delivered message in the SMS ledger"); every
  carrier-run broadcast order with reported totals gives the carrier's ``delivered``
  count on the day it was ordered — by area when the carrier broke it down (district
  or commune codes, whichever level the breakdown used), the rest without an area.
* Broadcast: every confirmed airing of a sketch (as-run store) reaches the station's
  estimated ``listeners`` once, in the station's district (and commune, for a commune
  station).  Bulletins are not counted, as in ``broadcast.reach``.

Both only read: a store that does not exist yet gives no reach (and is not created).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..reach import ReachRecord
from ..regions import Level

if TYPE_CHECKING:
    from ..campaign import Campaign, Period
    from ..default_plugins.broadcast import BroadcastChannel
    from ..default_plugins.sms import SmsChannel

__all__ = ["broadcast_reach", "sms_reach"]

SMS_DELIVERED = "delivered messages in the SMS ledger (1 reach per delivered message)"
SMS_CARRIER = "delivered messages reported by the carrier {carrier} for a broadcast order"
BROADCAST = "confirmed airing × {listeners:,} estimated listeners of the station's area"


def _area(campaign: Campaign, code: str, day: dt.date) -> tuple[str | None, str | None]:
    """(district, commune) of a unit code: its level says which; unknown codes are districts."""
    try:
        region = campaign.regions.get(code)
    except (KeyError, ValueError):
        return code, None
    if region.level is Level.COMMUNE:
        return region.parent_code, region.code
    return region.code, None


def sms_reach(channel: SmsChannel, key: str, campaign: Campaign, period: Period) -> Iterator[ReachRecord]:
    """The SMS channel's reach from its ledger (see the module docstring)."""
    if not channel.ledger_location().exists():
        return
    ledger = channel.open_ledger()
    try:
        for (text, message), count in sorted(ledger.delivered_by_day(campaign.id).items()):
            yield ReachRecord(dt.date.fromisoformat(text), key, count, SMS_DELIVERED,
                              f"sms ledger, message {message}", kind="sms")
        for order in ledger.broadcast_orders(campaign.id):
            if order.delivered is None:
                continue
            day = dt.date(order.ordered_at.year, order.ordered_at.month, order.ordered_at.day)
            method = SMS_CARRIER.format(carrier=order.carrier)
            source = f"carrier report {order.carrier}/{order.message}"
            placed = 0
            for area in order.areas:
                district, commune = _area(campaign, area.area, day)
                placed += area.delivered
                yield ReachRecord(day, key, area.delivered, method + ", by area", source,
                                  district_code=district, commune_code=commune, kind="sms")
            if order.delivered > placed:
                yield ReachRecord(day, key, order.delivered - placed,
                                  method + (" (not placed in an area)" if order.areas else ""),
                                  source, kind="sms")
    finally:
        ledger.close()


def broadcast_reach(channel: BroadcastChannel, key: str, campaign: Campaign,
                    period: Period) -> Iterator[ReachRecord]:
    """The broadcast channel's reach from its as-run store (see the module docstring)."""
    from ..broadcast.asrun import AsRunStore

    path = channel.store_path
    if not Path(path).is_file():
        return
    sketches = {s.id for s in channel.sketches}
    with AsRunStore(Path(path)) as store:
        confirmations = store.confirmations()
    for c in confirmations:
        if c.item not in sketches or not period.start <= c.day <= period.end:
            continue
        station = channel.stations.find(c.station, on=c.day)
        if station is None or station.listeners <= 0:
            continue
        commune = station.admin_code if station.level.value == "commune" else None
        yield ReachRecord(c.day, key, station.listeners, BROADCAST.format(listeners=station.listeners),
                          f"as-run {c.source}:{c.line}" if c.line else f"as-run {c.source or c.via}",
                          district_code=station.district_code, commune_code=commune, kind="broadcast")
