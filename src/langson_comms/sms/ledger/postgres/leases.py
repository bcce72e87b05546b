"""The sender lease (``sms.lease.LeaseStore``) and carrier-run broadcasts on PostgreSQL.

Same semantics as ``../leases.py``: one sender per (campaign, message).  Acquiring locks
the lease row (``FOR UPDATE``, after a transaction advisory lock on the pair, so two
first acquirers of a free lease do not both insert); every call takes its own pooled
connection, so the heartbeat thread never shares one with the sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ....errors import LedgerError, SenderBusyError
from ...broadcast_areas import AreaTotals
from ...lease import LeaseInfo, LeaseOwner, describe_lease
from ..broadcasts import orders_with_areas, refuse_bad_totals
from ..records import BroadcastOrder
from .base import PgBase

_LEASE_COLUMNS = "campaign, message, owner, host, pid, acquired_at, renewed_at, expires_at"
#: the advisory lock class of lease acquisition (the object is hashtext of the pair)
LEASE_LOCK = 0x4C53_4C45  # "LSLE"


def _lease_row(row: Sequence[Any] | None) -> LeaseInfo | None:
    return None if row is None else LeaseInfo(*row)


class PgLeasesAndBroadcasts(PgBase):
    """The sending-lease and carrier-broadcast parts of ``PostgresLedger``."""

    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo:
        """Take the sending lease of (campaign, message): free, expired, already ours, or
        held by ``take_over``; else ``SenderBusyError`` naming the holder."""
        with self._tx() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                       (LEASE_LOCK, f"{campaign}\x1f{message}"))
            held = _lease_row(db.execute(
                f"SELECT {_LEASE_COLUMNS} FROM sender_lease WHERE campaign=%s AND message=%s"
                " FOR UPDATE", (campaign, message)).fetchone())
            if (held is not None and held.live(now) and held.owner != owner.token
                    and held.owner != take_over):
                raise SenderBusyError(
                    f"another sender is already sending {message!r} from {self.location} "
                    f"({describe_lease(held, now)}); 'sms pause' or 'sms cancel' steer it, "
                    f"and a sender that died leaves the lease when it expires")
            acquired = held.acquired_at if held is not None and held.owner == owner.token \
                else now
            db.execute(
                "INSERT INTO sender_lease (campaign, message, owner, host, pid, acquired_at,"
                " renewed_at, expires_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (campaign, message) DO UPDATE SET owner=excluded.owner,"
                " host=excluded.host, pid=excluded.pid, acquired_at=excluded.acquired_at,"
                " renewed_at=excluded.renewed_at, expires_at=excluded.expires_at",
                (campaign, message, owner.token, owner.host, owner.pid, acquired, now,
                 now + ttl))
            with self._held_mutex:
                self._held[(campaign, message)] = owner.token
        return LeaseInfo(campaign, message, owner.token, owner.host, owner.pid, acquired, now,
                         now + ttl)

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool:
        with self._tx() as db:
            return db.execute(
                "UPDATE sender_lease SET renewed_at=%s, expires_at=%s WHERE campaign=%s"
                " AND message=%s AND owner=%s",
                (now, now + ttl, campaign, message, owner)).rowcount == 1

    def release_lease(self, campaign: str, message: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sender_lease WHERE campaign=%s AND message=%s AND owner=%s",
                       (campaign, message, owner))
            with self._held_mutex:
                if self._held.get((campaign, message)) == owner:
                    del self._held[(campaign, message)]

    def lease(self, campaign: str, message: str) -> LeaseInfo | None:
        with self._read() as db:
            return _lease_row(db.execute(
                f"SELECT {_LEASE_COLUMNS} FROM sender_lease WHERE campaign=%s AND message=%s",
                (campaign, message)).fetchone())

    # -- carrier-run broadcasts ---------------------------------------------------------

    def order_broadcast(
        self, campaign: str, carrier: str, message: str, now: float, note: str | None = None
    ) -> None:
        """Record that the province ordered ``carrier`` to broadcast ``message`` itself."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO broadcast_orders (campaign, carrier, message, ordered_at, note)"
                " VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (campaign, carrier, message, now, note))

    def report_broadcast(
        self, campaign: str, carrier: str, message: str, *, subscribers: int, sent: int,
        delivered: int, now: float, areas: Sequence[AreaTotals] = (),
    ) -> None:
        """Store the totals a carrier reported (a later report replaces it whole)."""
        refuse_bad_totals(carrier, subscribers=subscribers, sent=sent, delivered=delivered,
                          areas=areas)
        key = (campaign, carrier, message)
        with self._tx() as db:
            if db.execute(
                "UPDATE broadcast_orders SET reported_at=%s, subscribers=%s, sent=%s,"
                " delivered=%s WHERE campaign=%s AND carrier=%s AND message=%s",
                (now, subscribers, sent, delivered, *key)).rowcount == 0:
                raise LedgerError(
                    f"no broadcast order for carrier {carrier!r}, message {message!r} in"
                    f" campaign {campaign!r}: order it first")
            db.execute("DELETE FROM broadcast_areas WHERE campaign=%s AND carrier=%s"
                       " AND message=%s", key)
            with db.cursor() as cur:
                cur.executemany(
                    "INSERT INTO broadcast_areas (campaign, carrier, message, area,"
                    " subscribers, sent, delivered) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    [(*key, a.area, a.subscribers, a.sent, a.delivered) for a in areas])

    def broadcast_orders(self, campaign: str) -> list[BroadcastOrder]:
        with self._read() as db:
            rows = db.execute(
                "SELECT campaign, carrier, message, ordered_at, reported_at, subscribers, sent,"
                " delivered, note FROM broadcast_orders WHERE campaign=%s"
                " ORDER BY carrier, message", (campaign,)).fetchall()
            areas: dict[tuple[str, str], list[AreaTotals]] = {}
            for carrier, message, *totals in db.execute(
                "SELECT carrier, message, area, subscribers, sent, delivered FROM"
                " broadcast_areas WHERE campaign=%s ORDER BY carrier, message,"
                " CASE WHEN area ~ '^[0-9]{1,18}$' THEN area::bigint ELSE 0 END, area",
                (campaign,)):
                areas.setdefault((carrier, message), []).append(AreaTotals(*totals))
        return orders_with_areas(rows, areas)
