"""The SMS gateway seam: one verb (``send`` a batch), declared capabilities, one error tree.

A gateway plugin subclasses ``SmsGateway``, declares what its link can do in
``GatewayCapabilities`` and implements ``send``.  Whatever goes wrong on the wire is
translated here, at the seam, into ``TransientGatewayError`` (retry later: timeouts,
connection errors, 5xx, 429 with ``retry_after``) or ``PermanentGatewayError`` (never
retried), with ``raise … from exc``.  A whole-batch failure is raised; per-message
outcomes inside an answered batch are returned as ``SubmitResult``s.

Gateways never build their own HTTP client: an ``httpx.AsyncClient`` is injected (its
transport may be ``httpx_aiohttp.AiohttpTransport``, which measured about three times
faster than httpx's default transport here — docs/performance.md).
"""

from __future__ import annotations

import abc
import contextlib
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, Self

import aiohttp
import attrs
import httpx

from ..config import ConfigContext
from ..errors import GatewayError, PermanentGatewayError, TransientGatewayError, WrongRouteError
from .bounded_http import MAX_ANSWER_BYTES, AnswerTooLarge, BoundedTransport
from .ledger import DeliveryReport

log = logging.getLogger(__name__)

__all__ = [
    "FATAL_STATUSES",
    "GatewayCapabilities",
    "MAX_ANSWER_BYTES",
    "OutgoingSms",
    "REDIRECT_HINT",
    "SmsGateway",
    "TRANSPORT_ERRORS",
    "SubmitResult",
    "make_http_client",
    "own_gateway_ids",
    "parse_retry_after",
    "raise_for_status",
    "transport_error",
    "translate_transport_errors",
]


class OutgoingSms(NamedTuple):
    """One message to hand over.  ``ref`` is the ledger row id, echoed in the result.

    Named tuples (here and ``SubmitResult``): the engine makes one per message sent."""

    ref: int
    msisdn: str
    text: str
    segments: int = 1
    unicode: bool = False
    idempotency_key: str = ""
    sender: str | None = None


class SubmitResult(NamedTuple):
    """The gateway's answer for one message: a carrier id, or an error (transient/permanent).

    ``already_accepted``: the vendor says it already took this message — a resend of an
    idempotency key it had accepted (eSMS code 124), whose first answer was lost — and
    may give no carrier id: the row is recorded accepted, carrier id unknown, never
    failed and never sent again."""

    ref: int
    carrier_id: str | None = None
    error: GatewayError | None = None
    parts: int | None = None
    already_accepted: bool = False

    @property
    def accepted(self) -> bool:
        return self.error is None and (self.carrier_id is not None or self.already_accepted)


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


#: requests in flight one gateway may ask for: the engine starts one worker per request
MAX_CONCURRENCY = 1000


def _concurrency(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    _positive(_, attribute, value)
    if value > MAX_CONCURRENCY:
        raise ValueError(f"{attribute.name} is {value!r}: expected at most {MAX_CONCURRENCY}")


@attrs.frozen
class GatewayCapabilities:
    """What a gateway link can do.  Rates are per second; ``None`` means unlimited.

    ``max_batch`` messages per request; ``concurrency`` requests in flight at once;
    ``rate_msgs``/``rate_segments`` what the carrier counts (a 3-part SMS is 3 segments);
    ``burst`` seconds of rate the limiter may spend at once.
    """

    max_batch: int = attrs.field(default=1, validator=_positive)
    rate_msgs: float | None = attrs.field(default=None, validator=_positive)
    rate_segments: float | None = attrs.field(default=None, validator=_positive)
    burst: float = attrs.field(default=0.1, validator=_positive)
    concurrency: int = attrs.field(default=8, validator=_concurrency)
    supports_unicode: bool = True
    supports_idempotency: bool = False
    supports_polling: bool = False
    max_parts: int = attrs.field(default=6, validator=_positive)


class SmsGateway(abc.ABC):
    """Base class of SMS gateway plugins (``register_sms_gateways``).

    Subclasses set ``name`` and implement ``send``; ``from_config`` builds one from its
    ``[channels.sms.gateways.<id>]`` table; the engine injects the HTTP client with
    ``bind_client`` before sending (or the constructor receives it).
    """

    name: ClassVar[str]

    def __init__(
        self,
        gateway_id: str,
        capabilities: GatewayCapabilities,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.gateway_id = gateway_id
        self.capabilities = capabilities
        self._client = client

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        """Build from a configuration table; ``context.key`` names the table."""

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Raise the located error ``from_config`` would, without needing what only the
        sending machine has (secrets in the environment).  What the campaign loader calls
        so ``langson-comms validate`` reports a bad gateway table.  Default: build one
        with ``from_config`` and drop it; override when that needs secrets."""
        cls.from_config(config, context)

    def make_client(self) -> httpx.AsyncClient:
        """A new HTTP client suited to this gateway (the caller closes it)."""
        return make_http_client(connections=self.capabilities.concurrency)

    def bind_client(self, client: httpx.AsyncClient) -> None:
        """Inject the HTTP client (the engine shares one per gateway)."""
        self._client = client

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise GatewayError("no HTTP client injected (call bind_client)", gateway=self.gateway_id)
        return self._client

    @abc.abstractmethod
    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """Hand ``batch`` (at most ``max_batch``) over; one result per message, same refs.

        Raises ``TransientGatewayError``/``PermanentGatewayError`` when the whole batch
        failed.
        """

    async def poll_reports(self) -> list[DeliveryReport]:
        """Fetch delivery reports, for gateways with ``supports_polling``; default none."""
        return []

    async def close(self) -> None:
        """Release what the gateway holds: sessions, connections it opened itself.

        Called once sending (and polling) is over — ``sms send`` calls it for every
        gateway, a failure is logged, not raised; it must be safe to call twice and on
        a gateway that never sent.  The injected HTTP client is not the gateway's to
        close: whoever made it closes it.  Default: nothing to release."""
        return None

    def transient(self, message: str, *, status: int | None = None,
                  retry_after: float | None = None, in_doubt: bool = False) -> TransientGatewayError:
        """``in_doubt``: the request went out and no usable answer came back (the
        gateway may have taken the message): the row goes again only to this gateway."""
        return TransientGatewayError(
            message, gateway=self.gateway_id, status=status, retry_after=retry_after,
            in_doubt=in_doubt,
        )

    def permanent(self, message: str, *, status: int | None = None) -> PermanentGatewayError:
        return PermanentGatewayError(message, gateway=self.gateway_id, status=status)

    def wrong_route(self, message: str, *, reason: str, status: int | None = None) -> WrongRouteError:
        """The error for "this number is not reachable here, try its next route"."""
        return WrongRouteError(message, reason=reason, gateway=self.gateway_id, status=status)


def own_gateway_ids(gateways: Mapping[str, SmsGateway]) -> dict[str, SmsGateway]:
    """The core owns the gateway id: each gateway gets the key it is configured under
    (its ``[channels.sms.gateways.<id>]`` table, the engine's routing key).

    Rows are recorded with it and delivery reports arrive under it (``/dlr/<id>``,
    polling): a plugin that named itself otherwise would have its reports never matched.
    A differing id is overwritten, with a warning naming both — unless it is the table's
    key path (``channels.sms.gateways.<id>``, what ``context.key`` holds in ``from_config``)."""
    for gid, gateway in gateways.items():
        if gateway.gateway_id != gid and not gateway.gateway_id.endswith(f"gateways.{gid}"):
            log.warning("gateway %r (%s) called itself %r: the core sets its id to the "
                        "configured key %r", gid, type(gateway).__name__, gateway.gateway_id,
                        gid)
        gateway.gateway_id = gid
    return dict(gateways)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


#: a redirect answers a wrong ``url`` (never followed: it would resend credentials elsewhere)
REDIRECT_HINT = "the API answers with a redirect: check the gateway's url"


def raise_for_status(response: httpx.Response, gateway: str) -> None:
    """Translate an HTTP status: 429/408/5xx → transient, other 4xx → permanent, 3xx →
    permanent with a status of ``FATAL_STATUSES`` (the run stops)."""
    status = response.status_code
    if 300 <= status < 400:
        raise PermanentGatewayError(f"HTTP {status}: {REDIRECT_HINT}", gateway=gateway,
                                    status=status)
    if status < 400:
        return
    snippet = response.text[:200].strip() if response.is_closed else ""
    detail = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if status in (408, 425, 429) or status >= 500:
        raise TransientGatewayError(
            detail, gateway=gateway, status=status,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    raise PermanentGatewayError(detail, gateway=gateway, status=status)


#: Statuses of a ``PermanentGatewayError`` after which sending cannot go on without an
#: operator (credentials, the account, a redirect: a wrong url): the engine stops with the
#: rows still queued.
FATAL_STATUSES = frozenset({301, 302, 303, 307, 308, 401, 403})

#: What a transport raises when a request did not get a readable answer (all transient).
#: ``aiohttp.ClientError`` because ``httpx_aiohttp`` lets some of aiohttp's own errors
#: through untranslated — e.g. ``ClientResponseError`` for an answer that is not HTTP.
TRANSPORT_ERRORS = (httpx.TransportError, aiohttp.ClientError, OSError)


def _never_sent(exc: BaseException) -> bool:
    """Whether ``exc`` certainly came before the request reached the server (no
    connection was made), so the message cannot have been taken."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError) or isinstance(exc, aiohttp.ClientConnectorError):
        return True
    if isinstance(cause, aiohttp.ClientError):
        return False  # a read timeout or a dropped connection, translated by httpx_aiohttp
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                      | ConnectionRefusedError)


def transport_error(exc: BaseException, gateway: str) -> TransientGatewayError:
    """The ``TransientGatewayError`` for an httpx timeout or transport error (raise it
    ``from exc``).  For hot paths that cannot afford a context manager per request.

    httpx-aiohttp (0.2) turns every ``aiohttp.ClientConnectionError`` into
    ``httpx.ConnectTimeout`` — a refused connection or an unreachable host included — so
    an aiohttp cause that is not a timeout is reported as the connection error it is.
    The error is ``in_doubt`` unless no connection was made: the answer was lost, the
    gateway may have taken the message."""
    in_doubt = not _never_sent(exc)
    cause = exc.__cause__
    if (isinstance(exc, httpx.TimeoutException) and isinstance(cause, aiohttp.ClientError)
            and not isinstance(cause, TimeoutError)):
        return TransientGatewayError(f"connection error: {type(cause).__name__}: {cause}",
                                     gateway=gateway, in_doubt=in_doubt)
    if isinstance(exc, AnswerTooLarge):
        return TransientGatewayError(str(exc), gateway=gateway, in_doubt=True)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TransientGatewayError(f"timeout: {exc or type(exc).__name__}", gateway=gateway,
                                     in_doubt=in_doubt)
    if isinstance(exc, aiohttp.ClientResponseError | httpx.ProtocolError):
        return TransientGatewayError(f"malformed HTTP answer: {type(exc).__name__}: {exc}",
                                     gateway=gateway, in_doubt=True)
    return TransientGatewayError(f"connection error: {type(exc).__name__}: {exc}",
                                 gateway=gateway, in_doubt=in_doubt)


@contextlib.asynccontextmanager
async def translate_transport_errors(gateway: str) -> AsyncIterator[None]:
    """Turn timeouts and transport errors (httpx's and aiohttp's) into
    ``TransientGatewayError``."""
    try:
        yield
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc, gateway) from exc


def make_http_client(
    *,
    connections: int = 8,
    timeout: float = 10.0,
    transport: str = "aiohttp",
    max_answer_bytes: int = MAX_ANSWER_BYTES,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for gateways.

    ``transport="aiohttp"`` (default) uses ``httpx_aiohttp.AiohttpTransport``;
    ``"httpx"`` uses httpx's own transport.  Chosen by measurement, see
    docs/performance.md.  Either way an answer's body stops at ``max_answer_bytes`` and at
    ``timeout`` seconds from the request (``bounded_http``): a transient error.
    """
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    inner: httpx.AsyncBaseTransport
    if transport == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        inner = AiohttpTransport(limits=limits, trust_env=False)
    elif transport == "httpx":
        inner = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    else:
        raise ValueError(f"unknown transport {transport!r} (expected 'aiohttp' or 'httpx')")
    return httpx.AsyncClient(
        transport=BoundedTransport(inner, max_bytes=max_answer_bytes, timeout=timeout),
        timeout=timeout, trust_env=False,
    )
