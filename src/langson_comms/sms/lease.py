"""The sending lease: one sender per (campaign, message), whatever path leads to the ledger.

A sender takes a lease row *inside the ledger* before it touches a row (``sender_lease``:
owner, host, pid, acquired, heartbeat, expires), in one write transaction, so two
processes reaching the same database through a symlink, a hard link, a copy of the
campaign file or another host cannot both send.  The holder renews it every
``renew_every`` seconds from a thread of its own (a long step of the event loop does not
let it lapse) and releases it at the end.  A lease not renewed by ``expires_at`` — its
sender was killed — is taken over by the next sender; on the same host, a lease whose
process is gone is taken over at once (kill -9, then ``sms resume`` straight away).

``LeaseStore`` is what a store implements (``SqliteLedger`` does); ``SenderLease`` is the
holder the engine and ``sms send`` use.  ``PostgresLedger`` implements the same methods
for several senders per message: taking the lease registers the sender (never refused),
renewing keeps its registration, and its claims and writes are fenced on it
(``sms/ledger/postgres/senders.py``).  Lease methods of a store may be called from the heartbeat
thread while the sender uses the store: the store must give them a connection of their
own.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs

from ..clock import Clock, SystemClock, timestamp_of
from ..errors import SenderBusyError

__all__ = ["LeaseInfo", "LeaseOwner", "LeaseStore", "SenderLease", "SharedLeaseStore",
           "describe_lease"]

#: Defaults: a lease lives 30 s unless renewed; renewed every 10 s.
DEFAULT_TTL = 30.0
DEFAULT_RENEW_EVERY = 10.0


#: the inode of the first PID namespace (Linux's ``PROC_PID_INIT_INO``): no container
_INIT_PID_NS = 0xEFFFFFFC


def this_host() -> str:
    """This host's name, with its PID namespace when that is not the first one: two
    containers sharing the host's name (host networking) see different processes, so a
    process id is only tested where it was recorded."""
    name = socket.gethostname()
    try:
        ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: one namespace
        return name
    return name if ns == _INIT_PID_NS else f"{name} (pid ns {ns})"


@attrs.frozen
class LeaseOwner:
    """Who sends: a token unique to this holder, and where it runs (for messages; ``host``
    is ``this_host()``, the name with the PID namespace inside a container)."""

    token: str = attrs.Factory(lambda: uuid.uuid4().hex)
    host: str = attrs.Factory(this_host)
    pid: int = attrs.Factory(os.getpid)


@attrs.frozen
class LeaseInfo:
    """A lease row as stored (epoch seconds)."""

    campaign: str
    message: str
    owner: str
    host: str
    pid: int
    acquired_at: float
    renewed_at: float
    expires_at: float

    def live(self, now: float) -> bool:
        return now < self.expires_at


def describe_lease(lease: LeaseInfo, now: float) -> str:
    """``pid 123 on host-a, heartbeat 2 s ago, expires in 28 s`` (no personal data)."""
    return (f"pid {lease.pid} on {lease.host}, heartbeat {max(0.0, now - lease.renewed_at):.0f}"
            f" s ago, expires in {max(0.0, lease.expires_at - now):.0f} s")


class LeaseStore(Protocol):
    """The lease half of a ``LedgerStore`` (callable from another thread)."""

    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo:
        """Take the lease (or renew it, for its own owner) in one write transaction; a
        live lease of another owner raises ``SenderBusyError`` naming it, unless it is
        ``take_over`` (that owner's token: its process is known to be gone)."""
        ...

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool:
        """Push the expiry on; False when ``owner`` no longer holds the lease."""
        ...

    def release_lease(self, campaign: str, message: str, owner: str) -> None:
        """Drop the lease if ``owner`` holds it."""
        ...

    def lease(self, campaign: str, message: str) -> LeaseInfo | None:
        """The stored lease, live or not (compare ``expires_at`` with the time)."""
        ...


@runtime_checkable
class SharedLeaseStore(Protocol):
    """A store where several senders share a message (``PostgresLedger``): the lease is
    a registration per sender, listed by ``senders``; ``drop_sender`` removes one known to
    be dead and puts its in-flight rows back to ``queued`` at once."""

    def senders(self, campaign: str, message: str) -> list[LeaseInfo]: ...

    def drop_sender(self, campaign: str, message: str, owner: str) -> int: ...


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, another user's
        return False
    return False


class SenderLease:
    """Holds the lease of one (campaign, message) while sending.

    ``acquire``/``release`` nest (the CLI takes it before loading an audience, the engine
    again for its run: one lease, released when the outermost holder lets go); ``lost``
    says why the lease can no longer be trusted (another sender took it, or no renewal
    succeeded for ``ttl`` seconds), and the engine stops sending when it is set.
    """

    def __init__(self, store: LeaseStore, campaign: str, message: str, *,
                 ttl: float = DEFAULT_TTL, renew_every: float = DEFAULT_RENEW_EVERY,
                 clock: Clock | None = None, owner: LeaseOwner | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 process_gone: Callable[[int], bool] = _process_gone) -> None:
        if not 0 < renew_every < ttl:
            raise ValueError(f"renew_every ({renew_every}) must be > 0 and below ttl ({ttl})")
        self.store = store
        self.campaign = campaign
        self.message = message
        self.ttl = ttl
        self.renew_every = renew_every
        self.owner = owner or LeaseOwner()
        self._now = timestamp_of(clock or SystemClock())
        self._monotonic = monotonic
        self._process_gone = process_gone
        self._depth = 0
        self._renewed = 0.0  # monotonic time of the last successful take or renewal
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- holding -------------------------------------------------------------------------

    def acquire(self) -> LeaseInfo:
        """Take the lease (nested calls only count); ``SenderBusyError`` if another live
        sender holds it."""
        if self._depth:
            self._depth += 1
            return self._take()
        info = self._take()
        self._depth = 1
        self._lost = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._heartbeat, daemon=True,
                                        name=f"lease {self.campaign}/{self.message}")
        self._thread.start()
        return info

    def _take(self) -> LeaseInfo:
        started = self._monotonic()
        try:
            info = self.store.acquire_lease(self.campaign, self.message, self.owner,
                                            self._now(), self.ttl)
        except SenderBusyError:
            held = self.store.lease(self.campaign, self.message)
            if (held is None or held.host != self.owner.host
                    or not self._process_gone(held.pid)):
                raise
            # Same host, process gone (killed): no need to wait for the expiry.
            info = self.store.acquire_lease(self.campaign, self.message, self.owner,
                                            self._now(), self.ttl, take_over=held.owner)
        if isinstance(self.store, SharedLeaseStore):
            # Several senders: one of this host whose process is gone (kill -9) leaves its
            # rows at once, as a dead holder's lease does on SQLite.
            for other in self.store.senders(self.campaign, self.message):
                if (other.owner != self.owner.token and other.host == self.owner.host
                        and self._process_gone(other.pid)):
                    self.store.drop_sender(self.campaign, self.message, other.owner)
        self._renewed = started
        return info

    def release(self) -> None:
        if self._depth == 0:
            return
        self._depth -= 1
        if self._depth:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.store.release_lease(self.campaign, self.message, self.owner.token)

    def __enter__(self) -> SenderLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- renewing ------------------------------------------------------------------------

    def renew(self) -> bool:
        """Renew once (the heartbeat does this); False, and ``lost`` set, when the lease
        went to another sender."""
        started = self._monotonic()
        try:
            ok = self.store.renew_lease(self.campaign, self.message, self.owner.token,
                                        self._now(), self.ttl)
        except Exception:  # a busy or failing store: try again at the next beat
            return True
        if ok:
            self._renewed = started
            return True
        held = self.store.lease(self.campaign, self.message)
        self._lost = "the sending lease was taken over" + (
            f" by {describe_lease(held, self._now())}" if held is not None else "")
        return False

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.renew_every):
            if not self.renew():
                return

    @property
    def lost(self) -> str | None:
        """Why this holder may no longer send, or None while the lease is sure."""
        if self._lost is None and self._depth and (
                self._monotonic() - self._renewed >= self.ttl):
            self._lost = f"the sending lease was not renewed for {self.ttl:g} s"
        return self._lost
