"""The engine's settings and its summary: retry, routing, breakers, a run's outcome."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import attrs

from ..encoding import Encoding
from ..ledger import SmsState

#: How long rows for a saturated gateway wait in the ledger before being claimed again.
DEFER_SECONDS = 0.05

#: How far back the per-batch send-history prefetch reads (longer windows query per row).
HISTORY_PREFETCH_SECONDS = 7 * 86400

#: The reason kept on a row the gateway said it had already accepted, without an id.
ALREADY_ACCEPTED = "already accepted by the gateway (a resend of the same key); carrier id unknown"

_UCS2 = Encoding.UCS2
_ACCEPTED = SmsState.ACCEPTED


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with jitter: try ``n`` waits ``base_delay * 2**(n-1)`` (capped
    at ``max_delay``) less a random share up to ``jitter``; at least the Retry-After."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 300.0
    jitter: float = 0.5

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        raw = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        wait = raw * (1.0 - self.jitter * rng.random())
        return float(max(wait, retry_after or 0.0))


def route_list(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A route as configured (one gateway id, or ids in order) as a tuple of ids."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen
class Routing:
    """Carrier hint → its route: one gateway id, or ids in the order to try; ``default``
    (the same forms) for carriers without a route; ``fallback`` after either.

    A row goes to the first gateway of its route whose circuit is not open; a gateway
    that says the number is not its own (``WrongRouteError``: ported, no Zalo account,
    template refused) sends the row on to the next one it has not refused
    (docs/sms-dispatch.md, "Routes")."""

    routes: Mapping[str, str | tuple[str, ...]] = attrs.field(factory=dict)
    default: str | tuple[str, ...] | None = None
    fallback: tuple[str, ...] = ()

    def candidates(self, carrier_hint: str) -> tuple[str, ...]:
        route = self.routes.get(carrier_hint)
        first = route_list(route if route is not None else self.default)
        return first + tuple(dict.fromkeys(g for g in self.fallback if g not in first))

    def gateway_ids(self) -> set[str]:
        """Every gateway id the routing names."""
        named = {g for route in self.routes.values() for g in route_list(route)}
        return named | set(route_list(self.default)) | set(self.fallback)


@attrs.frozen
class DispatchSummary:
    """How a run ended: ``completed``, ``cancelled``, ``stopped`` (signal), ``deadline``."""

    outcome: str
    counts: Mapping[str, int]
    stats: Mapping[str, int]
    elapsed: float
    recovered: int = 0
    #: applied / exempt / disabled policy names (``PolicySelection.as_dict``)
    policies: Mapping[str, list[str]] = attrs.field(factory=dict)


@attrs.frozen
class BreakerSettings:
    """The circuit breaker of every lane (``CircuitBreaker``; docs/sms-dispatch.md, "Tuning
    for lossy links"): open when ``threshold`` of the last ``window`` requests failed and
    they are ``error_rate`` of them; probe after ``reset_after`` seconds, doubled after
    each failed probe up to ``max_reset_after``."""

    threshold: int = 5
    reset_after: float = 1.0
    window: int = 40
    error_rate: float = 0.5
    max_reset_after: float = 30.0
