"""``LedgerStore``: what the engine needs from a durable store (``SqliteLedger`` and
``PostgresLedger`` are two); ``Ledger``: all a ledger offers, as ``open_ledger`` returns it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, Self

from ..broadcast_areas import AreaTotals
from ..lease import LeaseInfo, LeaseOwner
from .records import (
    BreakerSummary,
    BroadcastOrder,
    DeliveryReport,
    LedgerRow,
    QueuedSms,
    Recipient,
    Result,
    SmsState,
)


class LedgerStore(Protocol):
    """What the engine needs from a durable store (``SqliteLedger``, ``PostgresLedger``).

    The lease methods (``sms.lease.LeaseStore``) may be called from the lease's heartbeat
    thread while the engine uses the store: give them a connection of their own."""

    def acquire_lease(self, campaign: str, message: str, owner: LeaseOwner, now: float,
                      ttl: float, *, take_over: str | None = None) -> LeaseInfo: ...

    def renew_lease(self, campaign: str, message: str, owner: str, now: float,
                    ttl: float) -> bool: ...

    def release_lease(self, campaign: str, message: str, owner: str) -> None: ...

    def lease(self, campaign: str, message: str) -> LeaseInfo | None: ...

    def enqueue(
        self, campaign: str, message: str, recipients: Iterable[Recipient], *, promotional: bool,
        now: float,
    ) -> tuple[int, int]: ...

    def recover_in_flight(self, campaign: str, message: str) -> int: ...

    def claim(self, campaign: str, message: str, now: float, limit: int) -> list[QueuedSms]: ...

    def record(self, results: Sequence[Result], now: float) -> None: ...

    def next_due(self, campaign: str, message: str) -> float | None: ...

    def finish_queued(
        self, campaign: str, message: str, state: SmsState, reason: str, now: float
    ) -> int: ...

    def record_reports(self, reports: Sequence[DeliveryReport], now: float, *,
                       gateway: str | None = None) -> int: ...

    def expire_unreported(self, campaign: str, message: str, accepted_before: float,
                          now: float) -> int: ...

    def counts(self, campaign: str, message: str | None = None) -> dict[str, int]: ...

    def set_control(self, campaign: str, message: str, state: str) -> None: ...

    def record_breaker_event(self, campaign: str, message: str, gateway: str, kind: str,
                             reason: str, open_seconds: float, at: float) -> None: ...

    def breaker_summary(self, campaign: str, message: str) -> dict[str, BreakerSummary]: ...

    def control(self, campaign: str, message: str) -> str: ...

    def count_promotional(self, msisdn: str, since: float) -> int: ...

    def promotional_times(self, msisdn: str, since: float) -> list[float]: ...

    def promotional_times_many(
        self, msisdns: Sequence[str], since: float
    ) -> dict[str, list[float]]: ...

    def close(self) -> None: ...


class Ledger(LedgerStore, Protocol):
    """A whole ledger as ``open_ledger`` returns it (``SqliteLedger``, ``PostgresLedger``):
    the engine's ``LedgerStore`` plus what ``sms status``, the KPI and the reach read, and
    the carrier-run broadcasts.  Close it after use (or use it as a context manager)."""

    def rows(self, campaign: str, message: str | None = None) -> Iterator[LedgerRow]: ...

    def messages(self, campaign: str) -> list[str]: ...

    def failure_reasons(self, campaign: str, message: str | None = None) -> dict[str, int]: ...

    def suppressed_by_policy(self, campaign: str,
                             message: str | None = None) -> dict[str, int]: ...

    def delivered_by_day(self, campaign: str,
                         utc_offset_hours: int = 7) -> dict[tuple[str, str], int]: ...

    def numbers_after(self, campaign: str, after_id: int) -> Iterator[tuple[int, str]]: ...

    def delivered_times(self, ids: Sequence[int]) -> dict[int, float]: ...

    def routes_summary(self, campaign: str, message: str) -> dict[str, Any]: ...

    def order_broadcast(self, campaign: str, carrier: str, message: str, now: float,
                        note: str | None = None) -> None: ...

    def report_broadcast(self, campaign: str, carrier: str, message: str, *, subscribers: int,
                         sent: int, delivered: int, now: float,
                         areas: Sequence[AreaTotals] = ()) -> None: ...

    def broadcast_orders(self, campaign: str) -> list[BroadcastOrder]: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
