"""Several senders on one message (PostgreSQL only): registration, row leases, shared rates.

On PostgreSQL the sending lease (``sms.lease.LeaseStore``) is not exclusive: every
``sms send`` / ``sms resume`` registers itself in ``senders`` (token, host, pid, renewal,
expiry) and its heartbeat renews that row.  A claim stamps each row with its sender
(``claimed_by``) and a lease expiry (``lease_until``); outcome writes are fenced twice:
the sender's own row is read ``FOR SHARE`` in the write's transaction (``_fence``), and
only rows still stamped with its token are updated.

A sender that dies stops renewing.  Once its registration has expired, any other sender
(at its next claim, throttled to once a second, or when it starts) deletes the
registration and puts the dead sender's ``submitted`` rows whose lease has passed back to
``queued`` -- idempotency keys unchanged, so an idempotent gateway answers a resend of a
request the dead sender had made with the first answer.  A sender whose registration was
deleted (it stalled past its expiry) finds it gone: its lease is lost, and it writes
nothing more.  Times are the server's (``clock_timestamp()``), so the hosts' clocks do not
matter.

``take_rate_tokens`` is the shared rate limit of a gateway (``sms.shared_ratelimit``):
one row per gateway holding, per dimension, the time at which the next token is due
(GCRA, a token bucket written as times); one ``UPDATE … RETURNING`` takes a batch and
says how long to wait before sending it.
"""

from __future__ import annotations

import time

from ....errors import SenderBusyError
from ...lease import LeaseInfo, LeaseOwner
from .base import Conn, reconnecting
from .leases import PgLeasesAndBroadcasts

#: the server's clock, in epoch seconds
NOW = "extract(epoch from clock_timestamp())::float8"
#: how often a claim also looks for rows of dead senders (seconds)
RECOVER_EVERY = 1.0


class PgSenders(PgLeasesAndBroadcasts):
    """The several-senders part of ``PostgresLedger`` (replaces the exclusive lease)."""

    def __init__(self, conninfo: str, *, password: str | None = None, timeout: float = 10.0,
                 max_connections: int = 4, reconnect_for: float = 30.0) -> None:
        super().__init__(conninfo, password=password, timeout=timeout,
                         max_connections=max_connections, reconnect_for=reconnect_for)
        #: (campaign, message) -> the lease time-to-live its sender registered with
        self._ttls: dict[tuple[str, str], float] = {}
        #: (campaign, message) -> when this store last looked for dead senders' rows
        self._last_recovery: dict[tuple[str, str], float] = {}

    @reconnecting()
    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo:
        """Register this sender (or renew its registration): never refused on PostgreSQL,
        other senders of the same message share its rows."""
        with self._tx() as db:
            row = db.execute(
                "INSERT INTO senders (token, campaign, message, host, pid, started_at,"
                f" renewed_at, expires_at) VALUES (%s,%s,%s,%s,%s,{NOW},{NOW},{NOW}+%s)"
                " ON CONFLICT (token) DO UPDATE SET renewed_at=excluded.renewed_at,"
                " expires_at=excluded.expires_at RETURNING started_at, renewed_at, expires_at",
                (owner.token, campaign, message, owner.host, owner.pid, ttl)).fetchone()
            assert row is not None
            with self._held_mutex:
                self._held[(campaign, message)] = owner.token
                self._ttls[(campaign, message)] = ttl
        return LeaseInfo(campaign, message, owner.token, owner.host, owner.pid, *row)

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool:
        """Push this sender's expiry on; False when its registration is gone (it stalled
        past its expiry and another sender took its rows back)."""
        with self._tx() as db:
            return db.execute(
                f"UPDATE senders SET renewed_at={NOW}, expires_at={NOW}+%s WHERE token=%s",
                (ttl, owner)).rowcount == 1

    @reconnecting()
    def release_lease(self, campaign: str, message: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM senders WHERE token=%s", (owner,))
            with self._held_mutex:
                if self._held.get((campaign, message)) == owner:
                    del self._held[(campaign, message)]

    def lease(self, campaign: str, message: str) -> LeaseInfo | None:
        """The most recently renewed sender of the message (live or not)."""
        with self._read() as db:
            row = db.execute(
                "SELECT campaign, message, token, host, pid, started_at, renewed_at,"
                " expires_at FROM senders WHERE campaign=%s AND message=%s"
                " ORDER BY renewed_at DESC LIMIT 1", (campaign, message)).fetchone()
        return None if row is None else LeaseInfo(*row)

    def senders(self, campaign: str, message: str) -> list[LeaseInfo]:
        """Every registered sender of the message, live or not (expired ones are removed
        by the next sender that looks for dead senders' rows)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT campaign, message, token, host, pid, started_at, renewed_at,"
                " expires_at FROM senders WHERE campaign=%s AND message=%s ORDER BY started_at",
                (campaign, message)).fetchall()
        return [LeaseInfo(*r) for r in rows]

    def drop_sender(self, campaign: str, message: str, owner: str) -> int:
        """Remove the registration of a sender known to be dead (its process is gone, on
        this host) and put its ``submitted`` rows back to ``queued`` now, without waiting
        for its lease; return how many."""
        with self._tx() as db:
            db.execute("DELETE FROM senders WHERE token=%s", (owner,))
            return db.execute(
                "UPDATE sms SET state='queued', next_at=0, claimed_by=NULL, lease_until=NULL"
                " WHERE campaign=%s AND message=%s AND state='submitted' AND claimed_by=%s",
                (campaign, message, owner)).rowcount

    def _fence(self, db: Conn, *keys: tuple[str, str]) -> None:
        """Refuse a sending write of a sender whose registration is gone: read ``FOR
        SHARE`` in the write's transaction, so removing it waits for the write."""
        for key in keys:
            token = self._held.get(key)
            if token is None:
                continue
            if db.execute("SELECT 1 FROM senders WHERE token=%s FOR SHARE",
                          (token,)).fetchone() is None:
                raise SenderBusyError(
                    f"this sender's registration for {key[1]!r} expired and its rows were"
                    " taken back by another sender (it stalled past its lease): nothing"
                    " more is written by this sender")

    def _token(self, campaign: str, message: str) -> str | None:
        return self._held.get((campaign, message))

    def _lease_ttl(self, campaign: str, message: str) -> float:
        return self._ttls.get((campaign, message), 0.0)

    def _recover_dead(self, db: Conn, campaign: str, message: str, *,
                      lease_less: bool = True) -> int:
        """Remove expired registrations, then put back to ``queued`` the ``submitted``
        rows of the message whose lease has passed and whose sender is not registered
        (dead, gone, or -- ``lease_less`` -- a claim made without a lease: only when asked
        for, by ``recover_in_flight``; a claim's own look leaves them, as nothing says
        their claimer is gone).  Two statements: the second sees the first's deletes, and
        a renewal racing the delete either wins (the sender stays registered) or finds its
        row gone."""
        self._last_recovery[(campaign, message)] = time.monotonic()
        db.execute(f"DELETE FROM senders WHERE campaign=%s AND message=%s AND expires_at<{NOW}",
                   (campaign, message))
        return db.execute(
            "UPDATE sms s SET state='queued', next_at=0, claimed_by=NULL, lease_until=NULL"
            " WHERE s.campaign=%s AND s.message=%s AND s.state='submitted'"
            f" AND coalesce(s.lease_until, 0) < {NOW} AND (s.claimed_by IS NULL AND %s"
            " OR s.claimed_by IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM senders x WHERE x.token=s.claimed_by))",
            (campaign, message, lease_less)).rowcount

    def _recovery_due(self, campaign: str, message: str) -> bool:
        last = self._last_recovery.get((campaign, message))
        return last is None or time.monotonic() - last >= RECOVER_EVERY

    # -- the shared rate limit ----------------------------------------------------------

    @reconnecting()
    def take_rate_tokens(self, gateway: str, msgs: int, segments: int,
                         msgs_per_s: float | None, segments_per_s: float | None,
                         burst: float) -> float:
        """Take ``msgs``/``segments`` tokens from ``gateway``'s shared bucket; return the
        seconds to wait before sending them (<= 0: now).  ``burst`` seconds of rate may
        have gathered while the bucket was idle."""
        rm, m = (msgs_per_s, float(msgs)) if msgs_per_s else (1.0, 0.0)
        rs, s = (segments_per_s, float(segments)) if segments_per_s else (1.0, 0.0)
        args = {"g": gateway, "m": m / rm, "s": s / rs, "burst": burst}
        with self._tx() as db:
            db.execute("INSERT INTO rate_buckets (gateway) VALUES (%(g)s) ON CONFLICT DO NOTHING",
                       args)
            row = db.execute(
                "UPDATE rate_buckets b SET"
                " msgs_tat=greatest(b.msgs_tat, n.t - %(burst)s) + %(m)s,"
                " segments_tat=greatest(b.segments_tat, n.t - %(burst)s) + %(s)s"
                f" FROM (SELECT {NOW} AS t) n WHERE b.gateway=%(g)s"
                " RETURNING greatest(b.msgs_tat - %(m)s, b.segments_tat - %(s)s) - n.t",
                args).fetchone()
        return 0.0 if row is None else float(row[0])
