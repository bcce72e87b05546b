"""The ledger's values: row states, the rows the engine claims and records, reports, orders.

Plain values only (enums, named tuples, frozen attrs classes); the SQLite store that keeps
them is ``sqlite.py``.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import attrs
import pendulum

from ...clock import LOCAL_TZ
from ..broadcast_areas import AreaTotals


class SmsState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPPRESSED = "suppressed"


FINAL_STATES = frozenset(
    {SmsState.DELIVERED, SmsState.FAILED, SmsState.EXPIRED, SmsState.CANCELLED,
     SmsState.SUPPRESSED}
)


class ReportStatus(enum.StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


def idempotency_key(campaign: str, message: str, msisdn: str) -> str:
    """A stable key for one (campaign, message, recipient): the same after any reload."""
    digest = hashlib.sha1(f"{campaign}\x1f{message}\x1f{msisdn}".encode(), usedforsecurity=False)
    return digest.hexdigest()[:24]


def tried_entry(gateway: str, reason: str) -> str:
    """One ``routes_tried`` entry, ``"gid:reason"``: the reason code is kept to letters,
    digits, ``_``, ``-`` and ``.`` so the list stays readable and splittable."""
    code = re.sub(r"[^0-9A-Za-z_.-]+", "_", reason).strip("_")[:60] or "wrong_route"
    return f"{gateway}:{code}"


def routes_tried(text: str | None) -> list[tuple[str, str]]:
    """A row's ``routes_tried`` as (gateway, reason) pairs, in the order they refused."""
    if not text:
        return []
    pairs = []
    for entry in text.split(","):
        gateway, _, reason = entry.rpartition(":")
        pairs.append((gateway, reason) if gateway else (reason, ""))
    return pairs


#: the ``routes_tried`` reason of a gateway that may have taken the row (its answer was
#: lost): not a refusal — the row goes again only to that gateway
IN_DOUBT = "in_doubt"


def refused_gateways(text: str | None) -> frozenset[str]:
    """The gateways a row's ``routes_tried`` says refused it."""
    return frozenset(g for g, why in routes_tried(text) if why != IN_DOUBT)


def in_doubt_gateways(text: str | None) -> frozenset[str]:
    """The gateways that may have taken the row (an answer lost there)."""
    return frozenset(g for g, why in routes_tried(text) if why == IN_DOUBT)


def sum_refusals(groups: Iterable[tuple[Any, Any, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """``fallbacks`` (``"gid:reason"`` → rows) and ``rerouted`` (state → rows with a refusal)
    from ``(routes_tried, state, rows)`` groups; an answer lost at a gateway is no refusal.
    Shared by both ledgers' ``routes_summary``."""
    fallbacks: dict[str, int] = {}
    rerouted: dict[str, int] = {}
    for tried, state, n in groups:
        refusals = [e for e in str(tried).split(",") if not e.endswith(f":{IN_DOUBT}")]
        if refusals:
            rerouted[str(state)] = rerouted.get(str(state), 0) + int(n)
        for entry in refusals:
            fallbacks[entry] = fallbacks.get(entry, 0) + int(n)
    return dict(sorted(fallbacks.items())), dict(sorted(rerouted.items()))


@attrs.frozen(slots=True)
class Recipient:
    """One recipient to load: E.164 number, carrier hint, template fields, where it came from."""

    msisdn: str
    carrier_hint: str = "unknown"
    fields: Mapping[str, str] | None = None
    source: str | None = None


class QueuedSms(NamedTuple):
    """A row claimed for sending (state ``submitted`` in the ledger).

    A named tuple rather than an attrs class: the engine makes one per row claimed, and
    building a tuple from the query's row costs a fraction of a frozen class's __init__."""

    id: int
    msisdn: str
    carrier_hint: str
    fields: Mapping[str, str] | None
    attempts: int
    idempotency_key: str
    #: the gateways that said this row is not theirs, ``"gid:reason,gid:reason"``
    #: (``WrongRouteError``): the engine does not send it to them again
    routes_tried: str | None = None


class Result(NamedTuple):
    """What happened to one claimed row; the engine records these in batches.

    ``state`` is the new state: ``accepted`` (with ``carrier_id``), ``queued`` (retry at
    ``next_at``, epoch seconds), ``failed``/``expired``/``suppressed``/``cancelled`` (with
    ``reason``).  ``attempted`` says whether a gateway was really called.  A named
    tuple, like ``QueuedSms``: one is made per row and outcome.
    """

    id: int
    state: SmsState
    attempted: bool = True
    gateway: str | None = None
    carrier_id: str | None = None
    segments: int | None = None
    reason: str | None = None
    next_at: float = 0.0
    #: ``"gid:reason"`` to add to the row's ``routes_tried`` (a gateway said "not mine")
    tried: str | None = None


@attrs.frozen(slots=True)
class DeliveryReport:
    """A carrier's final word on (one part of) a message.

    ``part`` is 1-based; ``parts`` the total number of parts when the carrier says so.
    A report for part 1 that gives no total covers the whole message (aggregators such
    as eSMS report once per message id, without part fields).  ``gateway`` is the id
    of the gateway whose carrier sent it (carrier ids are only unique per gateway);
    ``None`` when unknown, and then it may match a row of any gateway.
    """

    carrier_id: str
    status: ReportStatus = attrs.field(converter=ReportStatus)
    part: int = 1
    parts: int | None = None
    error: str | None = None
    gateway: str | None = None


@attrs.frozen
class LedgerRow:
    """A full ledger row, for status, exports and tests."""

    id: int
    campaign: str
    message: str
    msisdn: str
    carrier_hint: str
    state: SmsState
    attempts: int
    gateway: str | None
    carrier_id: str | None
    segments: int | None
    reason: str | None
    idempotency_key: str
    source: str | None
    created_at: pendulum.DateTime
    submitted_at: pendulum.DateTime | None
    accepted_at: pendulum.DateTime | None
    final_at: pendulum.DateTime | None
    #: the gateways that said "not mine" before ``gateway`` took it:
    #: ``"viettel:not_subscriber,zns:no_zalo_account"`` (None when the first route took it)
    routes_tried: str | None = None


@attrs.frozen
class BroadcastOrder:
    """A carrier-run broadcast ordered by the province (the carrier holds the list)."""

    campaign: str
    carrier: str
    message: str
    ordered_at: pendulum.DateTime
    reported_at: pendulum.DateTime | None = None
    subscribers: int | None = None
    sent: int | None = None
    delivered: int | None = None
    note: str | None = None
    #: the carrier's breakdown by area, when it gave one (``sms.broadcast_areas``)
    areas: tuple[AreaTotals, ...] = ()


def _dt(value: float | None) -> pendulum.DateTime | None:
    return None if value is None else pendulum.from_timestamp(value, tz=LOCAL_TZ)


@attrs.frozen
class BreakerSummary:
    """What ``sms status`` says of one gateway's circuit breaker (``breaker_summary``).

    ``is_open``: the last event was an opening (the run may have ended meanwhile)."""

    gateway: str
    opens: int = 0
    failed_probes: int = 0
    last_open: pendulum.DateTime | None = None
    last_open_reason: str | None = None
    last_close: pendulum.DateTime | None = None
    last_open_seconds: float | None = None
    open_seconds: float = 0.0
    is_open: bool = False
