"""Steering from another process (pause, cancel) and the circuit breakers' events."""

from __future__ import annotations

import time
from collections.abc import Iterable

import attrs

from ...errors import LedgerError
from .base import LedgerBase
from .records import BreakerSummary, _dt


class Control(LedgerBase):
    """The control and breaker-event part of ``SqliteLedger``."""

    # -- control (pause/cancel from another process) ------------------------------------

    def set_control(self, campaign: str, message: str, state: str) -> None:
        if state not in ("running", "paused", "cancelled"):
            raise LedgerError(f"unknown control state {state!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO control (campaign, message, state, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (campaign, message) DO UPDATE SET state=excluded.state,"
                " updated_at=excluded.updated_at",
                (campaign, message, state, time.time()),
            )

    def control(self, campaign: str, message: str) -> str:
        row = self._db.execute(
            "SELECT state FROM control WHERE campaign=? AND message=?", (campaign, message)
        ).fetchone()
        return "running" if row is None else str(row[0])

    # -- circuit breaker events (``sms status``) ---------------------------------------

    def record_breaker_event(self, campaign: str, message: str, gateway: str, kind: str,
                             reason: str, open_seconds: float, at: float) -> None:
        """Store one open (``open``/``reopen``) or ``close`` of a gateway's breaker."""
        with self._tx() as db:
            db.execute("INSERT INTO breaker_events (campaign, message, gateway, at, kind, "
                       "reason, open_seconds) VALUES (?,?,?,?,?,?,?)",
                       (campaign, message, gateway, at, kind, reason, open_seconds))

    def breaker_summary(self, campaign: str, message: str) -> dict[str, BreakerSummary]:
        """Per gateway: how often its breaker opened, the last open and close, and how
        long it stayed open in all."""
        return summarise_breakers(self._db.execute(
            "SELECT gateway, at, kind, reason, open_seconds FROM breaker_events "
            "WHERE campaign=? AND message=? ORDER BY at, rowid", (campaign, message)))


def summarise_breakers(
        rows: Iterable[tuple[str, float, str, str, float]]) -> dict[str, BreakerSummary]:
    """``breaker_summary`` from ``(gateway, at, kind, reason, open_seconds)`` events in the
    order they happened (both ledgers read them and call this)."""
    out: dict[str, BreakerSummary] = {}
    for gateway, at, kind, reason, open_seconds in rows:
        s = out.get(gateway) or BreakerSummary(gateway)
        if kind == "open":
            s = attrs.evolve(s, opens=s.opens + 1, last_open=_dt(at), last_open_reason=reason,
                             is_open=True)
        elif kind == "reopen":
            s = attrs.evolve(s, failed_probes=s.failed_probes + 1, last_open_reason=reason)
        else:
            s = attrs.evolve(s, last_close=_dt(at), last_open_seconds=open_seconds,
                             open_seconds=s.open_seconds + open_seconds, is_open=False)
        out[gateway] = s
    return out
