"""Carrier-run broadcasts: orders to a carrier and the totals it reports back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pendulum

from ...clock import LOCAL_TZ
from ...errors import LedgerError
from ..broadcast_areas import AreaTotals, excess_over_totals
from .base import LedgerBase
from .records import BroadcastOrder, _dt


def refuse_bad_totals(carrier: str, *, subscribers: int, sent: int, delivered: int,
                      areas: Sequence[AreaTotals]) -> None:
    """``LedgerError`` unless 0 <= delivered <= sent <= subscribers and no area count adds
    up to more than its total (both ledgers store carrier totals through this check)."""
    if not 0 <= delivered <= sent <= subscribers:
        raise LedgerError(f"{carrier}: totals must satisfy 0 <= delivered ({delivered}) <= sent ({sent})"
                          f" <= subscribers ({subscribers})")
    excess = excess_over_totals(areas, subscribers=subscribers, sent=sent, delivered=delivered)
    if excess:
        raise LedgerError(f"{carrier}: " + "; ".join(text for _, text in excess))


def orders_with_areas(rows: Sequence[Sequence[Any]],
                      areas: Mapping[tuple[str, str], Sequence[AreaTotals]]) -> list[BroadcastOrder]:
    """``BroadcastOrder``s from rows of (campaign, carrier, message, ordered_at, reported_at,
    subscribers, sent, delivered, note) and each (carrier, message)'s areas (both ledgers)."""
    return [
        BroadcastOrder(
            campaign=r[0], carrier=r[1], message=r[2],
            ordered_at=pendulum.from_timestamp(r[3], tz=LOCAL_TZ),
            reported_at=_dt(r[4]), subscribers=r[5], sent=r[6], delivered=r[7], note=r[8],
            areas=tuple(areas.get((r[1], r[2]), ())),
        )
        for r in rows
    ]


class CarrierBroadcasts(LedgerBase):
    """The carrier-broadcast part of ``SqliteLedger``."""

    # -- carrier-run broadcasts ---------------------------------------------------------

    def order_broadcast(
        self, campaign: str, carrier: str, message: str, now: float, note: str | None = None
    ) -> None:
        """Record that the province ordered ``carrier`` to broadcast ``message`` itself."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO broadcast_orders (campaign, carrier, message, ordered_at, note)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (campaign, carrier, message, now, note),
            )

    def report_broadcast(
        self, campaign: str, carrier: str, message: str, *, subscribers: int, sent: int,
        delivered: int, now: float, areas: Sequence[AreaTotals] = (),
    ) -> None:
        """Store the totals a carrier reported for a broadcast it ran, and its breakdown by
        area if it gave one.  A later report replaces the earlier one whole, areas included."""
        refuse_bad_totals(carrier, subscribers=subscribers, sent=sent, delivered=delivered,
                          areas=areas)
        with self._tx() as db:
            cur = db.execute(
                "UPDATE broadcast_orders SET reported_at=?, subscribers=?, sent=?, delivered=?"
                " WHERE campaign=? AND carrier=? AND message=?",
                (now, subscribers, sent, delivered, campaign, carrier, message),
            )
            if cur.rowcount == 0:
                raise LedgerError(
                    f"no broadcast order for carrier {carrier!r}, message {message!r} in"
                    f" campaign {campaign!r}: order it first"
                )
            db.execute("DELETE FROM broadcast_areas WHERE campaign=? AND carrier=? AND message=?",
                       (campaign, carrier, message))
            db.executemany(
                "INSERT INTO broadcast_areas (campaign, carrier, message, area, subscribers, sent,"
                " delivered) VALUES (?,?,?,?,?,?,?)",
                [(campaign, carrier, message, a.area, a.subscribers, a.sent, a.delivered)
                 for a in areas],
            )

    def broadcast_orders(self, campaign: str) -> list[BroadcastOrder]:
        rows = self._db.execute(
            "SELECT campaign, carrier, message, ordered_at, reported_at, subscribers, sent,"
            " delivered, note FROM broadcast_orders WHERE campaign=? ORDER BY carrier, message",
            (campaign,),
        ).fetchall()
        areas: dict[tuple[str, str], list[AreaTotals]] = {}
        for carrier, message, *totals in self._db.execute(
            "SELECT carrier, message, area, subscribers, sent, delivered FROM broadcast_areas"
            " WHERE campaign=? ORDER BY carrier, message, CAST(area AS INTEGER)", (campaign,),
        ):
            areas.setdefault((carrier, message), []).append(AreaTotals(*totals))
        return orders_with_areas(rows, areas)
