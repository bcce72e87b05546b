"""Controlling and reading a send from Python: ``pause_sms``, ``cancel_sms``,
``sms_status``, and the carrier-run broadcasts (``order_broadcast``,
``record_broadcast_report``)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..campaign import Campaign
from ..clock import Clock, SystemClock
from ..errors import ConfigError, DataError, DataErrors, LedgerError
from ..scrub import Scrubber
from ..sms.broadcast_areas import AreaTotals, excess_over_totals, read_area_totals
from ..sms.lease import LeaseInfo, describe_lease
from ..sms.ledger import BreakerSummary, BroadcastOrder, SmsState
from .sms_target import SmsTarget

__all__ = ["BroadcastReport", "ControlResult", "SmsStatus", "cancel_sms", "order_broadcast",
           "pause_sms", "record_broadcast_report", "sms_status"]


@attrs.frozen
class ControlResult:
    """The control state set; for a cancel with no sender running, the queued rows closed
    now (``cancelled``) and how many of them a stopped sender had left in flight."""

    message: str
    state: str
    cancelled: int | None = None
    recovered: int = 0


def pause_sms(target: SmsTarget) -> ControlResult:
    """Pause sending: a running sender stops starting requests until resumed."""
    return _set_control(target, "paused")


def cancel_sms(target: SmsTarget) -> ControlResult:
    """Cancel sending: rows not yet sent end ``cancelled`` (now, when no sender runs)."""
    return _set_control(target, "cancelled")


def _set_control(target: SmsTarget, state: str) -> ControlResult:
    campaign, key = target.campaign.id, target.message.key
    with target.open_ledger() as ledger:
        ledger.set_control(campaign, key, state)
        if state == "cancelled":
            try:  # with no sender running the rows are closed now; a sender does it itself
                with target.lease(ledger):
                    recovered = ledger.recover_in_flight(campaign, key)
                    n = ledger.finish_queued(campaign, key, SmsState.CANCELLED,
                                             "cancelled by operator", time.time())
                    return ControlResult(key, state, cancelled=n, recovered=recovered)
            except LedgerError:
                pass
    return ControlResult(key, state)


@attrs.frozen
class SmsStatus:
    """Rows per state, control state, live sender, breakers, failure reasons, policy
    suppressions and routes (rows per gateway, fallbacks by reason) per message; carrier
    broadcast orders and their totals by area."""

    campaign: str
    ledger: str
    messages: Mapping[str, Mapping[str, Any]]
    broadcasts: tuple[Mapping[str, Any], ...] = ()
    broadcast_areas: Mapping[str, list[dict[str, Any]]] = attrs.field(factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "ledger": self.ledger,
                "messages": dict(self.messages), "broadcasts": list(self.broadcasts),
                "broadcast_areas": dict(self.broadcast_areas)}


def sms_status(target: SmsTarget, *, now: float | None = None) -> SmsStatus:
    """The channel's ledger read for every message (``running`` senders are those holding a
    live lease at ``now``, default the wall clock the leases are stamped with)."""
    camp = target.campaign
    scrub = target.scrubber()  # reasons a ledger stored before scrubbing existed
    location = target.channel.ledger_location()
    path = location.describe()
    if not location.exists():
        return SmsStatus(camp.id, path, {})
    at = time.time() if now is None else now
    with target.open_ledger() as ledger:
        orders = ledger.broadcast_orders(camp.id)
        messages = {
            m: {"counts": ledger.counts(camp.id, m),
                "control": ledger.control(camp.id, m),
                "sender": _sender_json(ledger.lease(camp.id, m), at),
                "breakers": {gid: _breaker_json(b) for gid, b in
                             ledger.breaker_summary(camp.id, m).items()},
                "reasons": _scrubbed(ledger.failure_reasons(camp.id, m), scrub),
                "suppressed_by_policy": ledger.suppressed_by_policy(camp.id, m),
                "routes": ledger.routes_summary(camp.id, m)}
            for m in ledger.messages(camp.id)}
    broadcasts = tuple(
        {"carrier": o.carrier, "message": o.message, "ordered_at": o.ordered_at.isoformat(),
         "reported_at": o.reported_at.isoformat() if o.reported_at else None,
         "subscribers": o.subscribers, "sent": o.sent, "delivered": o.delivered,
         "areas": [_area_json(camp, a) for a in o.areas]}
        for o in orders)
    areas = {message: [_area_json(camp, a) for a in totals]
             for message, totals in _areas_all_carriers(orders).items()}
    return SmsStatus(camp.id, path, messages, broadcasts, areas)


def _scrubbed(reasons: dict[str, int], scrub: Scrubber) -> dict[str, int]:
    out: dict[str, int] = {}
    for reason, n in reasons.items():
        key = scrub.scrub(reason)
        out[key] = out.get(key, 0) + n
    return out


def _sender_json(lease: LeaseInfo | None, now: float) -> dict[str, Any] | None:
    """The live sender of a message (its lease), or None: no lease, or one that expired
    (a completed send releases it; a crashed sender's lapses)."""
    if lease is None or not lease.live(now):
        return None
    return {"host": lease.host, "pid": lease.pid,
            "heartbeat_age": round(max(0.0, now - lease.renewed_at), 1),
            "expires_in": round(lease.expires_at - now, 1),
            "description": describe_lease(lease, now)}


def _breaker_json(b: BreakerSummary) -> dict[str, Any]:
    return {"opens": b.opens, "failed_probes": b.failed_probes, "open_now": b.is_open,
            "last_open": b.last_open.isoformat() if b.last_open else None,
            "last_open_reason": b.last_open_reason,
            "last_close": b.last_close.isoformat() if b.last_close else None,
            "last_open_seconds": b.last_open_seconds,
            "open_seconds": round(b.open_seconds, 3)}


def _area_json(camp: Campaign, area: AreaTotals) -> dict[str, Any]:
    try:
        name = camp.regions.get(area.area, camp.period.start).name
    except KeyError:  # the campaign file's regions changed since the report
        name = "(not in the campaign's regions)"
    return {"area": area.area, "name": name, "subscribers": area.subscribers,
            "sent": area.sent, "delivered": area.delivered}


def _areas_all_carriers(orders: list[BroadcastOrder]) -> dict[str, list[AreaTotals]]:
    """Per message, each area's totals added up over the carriers that gave a breakdown."""
    added: dict[str, dict[str, list[int]]] = {}
    for order in orders:
        for a in order.areas:
            sums = added.setdefault(order.message, {}).setdefault(a.area, [0, 0, 0])
            sums[0] += a.subscribers
            sums[1] += a.sent
            sums[2] += a.delivered
    return {message: [AreaTotals(code, *sums) for code, sums in
                      sorted(areas.items(), key=lambda item: int(item[0]))]
            for message, areas in added.items()}


def order_broadcast(target: SmsTarget, *, note: str | None = None,
                    clock: Clock | None = None) -> tuple[str, ...]:
    """Record the order of a carrier-run broadcast for each configured carrier; the
    carriers ordered.  ``ConfigError`` when the channel names no carrier."""
    carriers = tuple(target.config.carriers)
    if not carriers:
        raise ConfigError("no carriers to order from",
                          key=f"channels.{target.channel_key}.carriers")
    now = (clock or SystemClock()).now().timestamp()
    with target.open_ledger() as ledger:
        for carrier in carriers:
            ledger.order_broadcast(target.campaign.id, carrier, target.message.key, now, note)
    return carriers


@attrs.frozen
class BroadcastReport:
    """A carrier's reported totals as recorded, with its breakdown by area (if any)."""

    carrier: str
    subscribers: int
    sent: int
    delivered: int
    areas: tuple[AreaTotals, ...] = ()
    recorded_at: Any = None

    @property
    def unattributed(self) -> int:
        """Subscribers the breakdown by area does not place."""
        return self.subscribers - sum(a.subscribers for a in self.areas)


def record_broadcast_report(target: SmsTarget, carrier: str, *, subscribers: int, sent: int,
                            delivered: int, areas_file: str | Path | None = None,
                            clock: Clock | None = None) -> BroadcastReport:
    """Record the totals a carrier reported for a broadcast it ran; ``areas_file`` is its
    breakdown by area (CSV: area, subscribers, sent, delivered), checked against the
    totals (``DataErrors`` naming the file and column)."""
    camp = target.campaign
    areas: Sequence[AreaTotals] = ()
    if areas_file is not None:
        areas = read_area_totals(str(areas_file), camp.regions, on=camp.period.start)
        excess = excess_over_totals(areas, subscribers=subscribers, sent=sent,
                                    delivered=delivered)
        if excess:
            raise DataErrors([DataError(text, source=str(areas_file), column=column)
                              for column, text in excess])
    at = (clock or SystemClock()).now()
    with target.open_ledger() as ledger:
        ledger.report_broadcast(camp.id, carrier, target.message.key, subscribers=subscribers,
                                sent=sent, delivered=delivered, now=at.timestamp(), areas=areas)
    return BroadcastReport(carrier, subscribers, sent, delivered, tuple(areas), at)
