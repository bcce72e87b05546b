"""The built-in generic HTTP gateway: talk to a REST SMS API by configuration alone.

(Over 500 lines on purpose: the configuration classes and the gateway that reads them
describe one wire format, and are read and changed together.)

Everything vendor-specific is configuration (docs/sms-dispatch.md lists every key):
URL, auth header (value from an environment variable), how our fields are named in
the request, static extra fields (brandname, SMS type…), number format, one message
per request or a list per request, and how to read the answer (which field says
"accepted", which values are worth a retry, where the carrier message id is).  The
defaults are the wire format of the carrier simulator in ``langson_comms.testing``.

Default wire format::

    POST <url>            {"to": "+8491…", "text": "…", "from": "LANGSON", "ref": "12",
                           "request_id": "…", "unicode": false}
      → 200 {"status": "accepted", "message_id": "SIM-1", "parts": 1}
      → 200 {"status": "rejected", "error": "invalid_number"}
    POST <batch url>      {"messages": [<message>, …]}
      → 200 {"results": [<answer>, …]}           (same order, or matched on "ref")
    GET  <poll url>       → 200 {"reports": [{"message_id", "status", "part", "parts", "error"}]}
"""

from __future__ import annotations

import enum
import json
import operator
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import attrs
import httpx

from ..config import ConfigContext, InvalidValue, at_least, at_most
from ..errors import ConfigError, GatewayError, PermanentGatewayError
from .gateway import (
    FATAL_STATUSES,
    TRANSPORT_ERRORS,
    GatewayCapabilities,
    OutgoingSms,
    SmsGateway,
    SubmitResult,
    make_http_client,
    raise_for_status,
    translate_transport_errors,
    transport_error,
)
from .ledger import DeliveryReport, ReportStatus
from .secrets import load_secret

#: The status of the error a ``result.fatal`` code raises: HTTP 403 "Forbidden", one of
#: ``FATAL_STATUSES`` (sending stops, rows stay queued for ``sms resume``).
ACCOUNT_REFUSED = 403

#: Marks a message the batch answer left out.
_MISSING: Any = object()

__all__ = [
    "FieldNames",
    "GenericHttpConfig",
    "GenericHttpGateway",
    "NumberFormat",
    "ReportFormat",
    "ResultFormat",
    "parse_reports",
]


def _e164(sms: OutgoingSms) -> str:
    msisdn = sms.msisdn
    return msisdn if msisdn.startswith("+") else "+" + msisdn


class NumberFormat(enum.StrEnum):
    E164 = "e164"  # +84912345678
    INTERNATIONAL = "84"  # 84912345678
    NATIONAL = "0"  # 0912345678


def format_number(msisdn: str, fmt: NumberFormat) -> str:
    digits = msisdn.removeprefix("+")
    if fmt is NumberFormat.E164:
        return "+" + digits
    if fmt is NumberFormat.INTERNATIONAL:
        return digits
    return "0" + digits.removeprefix("84")


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


class MissingSecretError(GatewayError):
    """An environment variable the configuration names (``key``) is not set."""

    def __init__(self, message: str, *, key: str, gateway: str) -> None:
        super().__init__(message, gateway=gateway)
        self.key = key


def _from_env(environ: Mapping[str, str], name: str, key: str, gateway_id: str) -> str:
    try:  # a trailing newline or CR is not part of a credential
        return load_secret(env_name=name, what=key, environ=environ)
    except ConfigError as exc:
        raise MissingSecretError(exc.message, key=key, gateway=gateway_id) from None


@attrs.frozen
class FieldNames:
    """Request field names; an empty string leaves that field out."""

    to: str = "to"
    text: str = "text"
    sender: str = "from"
    ref: str = "ref"
    idempotency_key: str = "request_id"
    unicode: str = "unicode"


@attrs.frozen
class ResultFormat:
    """How to read one message's answer."""

    status_field: str = "status"
    accepted: list[str] = attrs.Factory(lambda: ["accepted"])
    #: "already accepted": a resend of a key the vendor took before (eSMS "124"); the row
    #: is accepted, with the carrier id if the answer has one, else with none
    already: list[str] = attrs.Factory(list)
    transient: list[str] = attrs.Factory(lambda: ["throttled", "busy", "retry"])
    #: account-level codes (bad credentials, no balance…): stop the run like HTTP 403
    fatal: list[str] = attrs.Factory(list)
    #: "not my subscriber" codes (a ported number…): the row goes on to its next route
    #: (``WrongRouteError`` with the code as its reason) instead of failing
    wrong_route: list[str] = attrs.Factory(list)
    id_field: str = "message_id"
    error_field: str = "error"
    parts_field: str = "parts"
    ref_field: str = "ref"
    results_key: str = "results"


@attrs.frozen
class ReportFormat:
    """How to read a delivery report (callback body or poll answer)."""

    list_key: str = "reports"
    id_field: str = "message_id"
    status_field: str = "status"
    part_field: str = "part"
    parts_field: str = "parts"
    error_field: str = "error"
    status_map: dict[str, str] = attrs.Factory(
        lambda: {"delivered": "delivered", "DELIVRD": "delivered", "failed": "failed",
                 "UNDELIV": "failed", "REJECTD": "failed", "expired": "expired",
                 "EXPIRED": "expired"}
    )
    #: statuses that are not final (queued, sending…): acknowledged, not stored
    ignore: list[str] = attrs.Factory(list)


@attrs.frozen
class GenericHttpConfig:
    """The ``[channels.sms.gateways.<id>]`` table of a ``kind = "generic_http"`` gateway."""

    url: str
    batch_url: str | None = None
    batch_key: str = "messages"
    poll_url: str | None = None
    auth_header: str = "Authorization"
    auth_env: str | None = None
    auth_value: str | None = None
    idempotency_header: str | None = "Idempotency-Key"
    number_format: NumberFormat = NumberFormat.E164
    #: what ``fields.unicode`` carries for [not Unicode, Unicode]; default JSON false/true
    unicode_values: list[Any] | None = None
    sender: str | None = None
    extra: dict[str, Any] = attrs.Factory(dict)
    #: request field → environment variable holding its value (API keys in the body)
    extra_env: dict[str, str] = attrs.Factory(dict)
    fields: FieldNames = attrs.Factory(FieldNames)
    result: ResultFormat = attrs.Factory(ResultFormat)
    reports: ReportFormat = attrs.Factory(ReportFormat)
    timeout: float = attrs.field(default=10.0, validator=_above_zero)
    connections: int = attrs.field(default=8, validator=[at_least(1), at_most(1000)])
    transport: str = "aiohttp"
    max_batch: int = attrs.field(default=1, validator=at_least(1))
    rate_msgs: float | None = attrs.field(default=None, validator=[_above_zero, at_most(100_000)])
    rate_segments: float | None = attrs.field(default=None,
                                              validator=[_above_zero, at_most(100_000)])
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    supports_unicode: bool = True
    supports_idempotency: bool = False
    max_parts: int = attrs.field(default=6, validator=at_least(1))

    def capabilities(self) -> GatewayCapabilities:
        return GatewayCapabilities(
            max_batch=self.max_batch,
            rate_msgs=self.rate_msgs,
            rate_segments=self.rate_segments,
            burst=self.burst,
            concurrency=self.connections,
            supports_unicode=self.supports_unicode,
            supports_idempotency=self.supports_idempotency,
            supports_polling=self.poll_url is not None,
            max_parts=self.max_parts,
        )


def _unicode_flag(plain: Any, unicode: Any) -> Callable[[OutgoingSms], Any]:
    return lambda sms: unicode if sms.unicode else plain


def _has_userinfo(url: str) -> bool:
    """True when ``url`` has ``user[:password]@`` before its host (or cannot be read)."""
    try:
        return bool(httpx.URL(url).userinfo)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "@" in url.split("://", 1)[-1].split("/", 1)[0]


#: query parameter names that carry a credential (compared lower-case, without _ and -)
_SECRET_PARAMS = ("key", "apikey", "secret", "secretkey", "token", "accesstoken", "password",
                  "pass", "passwd", "pwd", "auth", "signature")


def _secret_params(url: str) -> list[str]:
    """Names of the query parameters of ``url`` that look like a credential."""
    try:
        params = httpx.URL(url).params
    except (httpx.InvalidURL, TypeError, ValueError):
        return []
    return [name for name in params
            if name.lower().replace("_", "").replace("-", "") in _SECRET_PARAMS]


#: a concatenated SMS has at most 255 parts (the UDH counts them in one byte)
MAX_PARTS = 255


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _count(value: Any, what: str) -> int | None:
    """A part number or count of a report: an integer 1..MAX_PARTS, or absent (None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} must be an integer, got {type(value).__name__}")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{what} must be an integer, got {str(value)[:20]!r}") from None
    if not 1 <= number <= MAX_PARTS:
        raise ValueError(f"{what} is {number}: expected 1 to {MAX_PARTS}")
    return number


def parse_reports(body: Any, fmt: ReportFormat, *, source: str = "report",
                  ignored: Counter[str] | None = None) -> list[DeliveryReport]:
    """Delivery reports from a JSON body: one object, a list, or ``{list_key: [...]}``.

    Items whose status is in ``fmt.ignore`` (not final) are left out and counted per
    status in ``ignored``.  Raises ``ValueError`` naming the item and field when a report
    is malformed.
    """
    if isinstance(body, Mapping) and fmt.list_key in body:
        body = body[fmt.list_key]
    items = body if isinstance(body, list) else [body]
    reports = []
    for index, item in enumerate(items):
        where = f"{source}[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected an object, got {type(item).__name__}")
        carrier_id = item.get(fmt.id_field)
        if carrier_id in (None, ""):
            raise ValueError(f"{where}: field {fmt.id_field!r} is missing")
        for name in (fmt.id_field, fmt.status_field, fmt.error_field):
            if not _scalar(item.get(name)):
                raise ValueError(f"{where}: field {name!r} must be a string or a number, "
                                 f"got {type(item.get(name)).__name__}")
        raw_status = str(item.get(fmt.status_field, ""))
        if raw_status in fmt.ignore:
            if ignored is not None:
                ignored[raw_status] += 1
            continue
        status = fmt.status_map.get(raw_status)
        if status is None:
            raise ValueError(
                f"{where}: status {raw_status!r} is not one of {sorted(fmt.status_map)}"
            )
        part = _count(item.get(fmt.part_field), f"{where}: field {fmt.part_field!r}") or 1
        parts = _count(item.get(fmt.parts_field), f"{where}: field {fmt.parts_field!r}")
        if parts is not None and part > parts:
            raise ValueError(f"{where}: field {fmt.part_field!r} is {part}, beyond "
                             f"{fmt.parts_field!r} ({parts})")
        error = item.get(fmt.error_field)
        reports.append(
            DeliveryReport(str(carrier_id), ReportStatus(status), part, parts,
                           None if error in (None, "") else str(error))
        )
    return reports


class GenericHttpGateway(SmsGateway):
    """``kind = "generic_http"``: a REST SMS API described entirely by configuration."""

    name = "generic_http"

    def __init__(
        self,
        gateway_id: str,
        config: GenericHttpConfig,
        *,
        client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(gateway_id, config.capabilities(), client=client)
        self.config = config
        headers: dict[str, str] = {}
        environ = os.environ if env is None else env
        secret = config.auth_value
        if config.auth_env:
            secret = _from_env(environ, config.auth_env, "auth_env", gateway_id)
        if secret:
            headers[config.auth_header] = secret
        self._headers = {"content-type": "application/json", **headers}
        f = config.fields
        self._plan = [(name, attr) for name, attr in (
            (f.to, "to"), (f.text, "text"), (f.sender, "sender"), (f.ref, "ref"),
            (f.idempotency_key, "key"), (f.unicode, "unicode")) if name]
        # One getter per request field, chosen once (a body is built per message).
        number_format, default_sender = config.number_format, config.sender
        getters: dict[str, Callable[[OutgoingSms], Any]] = {
            "to": (_e164 if number_format is NumberFormat.E164
                   else lambda s: format_number(s.msisdn, number_format)),
            "text": operator.attrgetter("text"),
            "sender": lambda s: s.sender or default_sender,
            "ref": lambda s: str(s.ref),
            "key": operator.attrgetter("idempotency_key"),
            "unicode": (operator.attrgetter("unicode") if config.unicode_values is None
                        else _unicode_flag(*config.unicode_values)),
        }
        self._getters = [(name, getters[attr]) for name, attr in self._plan]
        self._extra = {**config.extra, **{
            field: _from_env(environ, name, f"extra_env.{field}", gateway_id)
            for field, name in config.extra_env.items()}}
        result = config.result
        self._accepted = frozenset(result.accepted)
        self._already = frozenset(result.already)
        self._transient = frozenset(result.transient)
        self._fatal = frozenset(result.fatal)
        self._wrong_route = frozenset(result.wrong_route)

    def make_client(self) -> httpx.AsyncClient:
        return make_http_client(connections=self.config.connections, timeout=self.config.timeout,
                                transport=self.config.transport)

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> GenericHttpConfig:
        """The checked configuration table (located errors), without building a gateway."""
        parsed = context.structure(dict(config), GenericHttpConfig)
        values = parsed.unicode_values
        if values is not None and (len(values) != 2 or not all(
                isinstance(v, str | int | bool) for v in values)):
            raise context.error(f"{values!r} is not two values [not Unicode, Unicode] "
                                '(e.g. ["0", "1"])', "unicode_values")
        for field in parsed.extra_env:
            if field in parsed.extra:
                raise context.error(f"{field!r} is in both extra and extra_env: keep one",
                                    f"extra_env.{field}")
        for key in ("url", "batch_url", "poll_url"):
            url = getattr(parsed, key)
            if url is not None and _has_userinfo(url):  # the URL is not echoed: a secret
                raise context.error("the URL carries credentials (user:password@host): "
                                    "remove them and give the credential through auth_env "
                                    "or extra_env", key)
            named = _secret_params(url) if url is not None else []
            if named:  # the value is not echoed
                raise context.error(f"the URL carries a credential in its query ({', '.join(named)}):"
                                    " remove it and give it through extra_env (a field the"
                                    " request template sends) or auth_env", key)
        if not parsed.url.startswith(("http://", "https://")):
            raise context.error(f"{parsed.url!r} is not an http(s) URL", "url")
        if parsed.max_batch > 1 and not parsed.batch_url:
            raise context.error("max_batch > 1 needs batch_url (the list endpoint)", "batch_url")
        result = parsed.result
        for name, codes in (("accepted", result.accepted), ("transient", result.transient),
                            ("fatal", result.fatal), ("wrong_route", result.wrong_route)):
            both = sorted(set(result.already) & set(codes))
            if both:
                raise context.error(f"{', '.join(map(repr, both))} in both result.already and"
                                    f" result.{name}: keep one", "result.already")
        if parsed.transport not in ("aiohttp", "httpx"):
            raise context.error(
                f"{parsed.transport!r} is not a transport (expected 'aiohttp' or 'httpx')",
                "transport",
            )
        return parsed

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Everything ``from_config`` checks except the secrets (``auth_env``,
        ``extra_env``), which the machine that validates a campaign need not hold."""
        cls.parse_config(config, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        parsed = cls.parse_config(config, context)
        try:
            return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed)
        except MissingSecretError as exc:
            raise context.error(str(exc), exc.key) from exc

    def _body(self, sms: OutgoingSms) -> dict[str, Any]:
        body = self._extra.copy()
        for name, get in self._getters:
            value = get(sms)
            if value is not None:
                body[name] = value
        return body

    def _classify(self, sms: OutgoingSms, answer: Any) -> SubmitResult:
        fmt = self.config.result
        if answer is _MISSING:
            return SubmitResult(sms.ref, error=self.transient(
                f"the batch answer has no result with {fmt.ref_field} {sms.ref}"))
        if not isinstance(answer, Mapping):
            return SubmitResult(sms.ref, error=self.transient(
                f"unreadable answer {answer!r:.80}", in_doubt=True))
        status = answer.get(fmt.status_field, "")
        if status.__class__ is not str:
            status = str(status)
        if status in self._accepted:
            carrier_id = answer.get(fmt.id_field)
            if carrier_id is None or carrier_id == "":
                return SubmitResult(
                    sms.ref, error=self.transient(f"accepted without {fmt.id_field!r}")
                )
            parts = answer.get(fmt.parts_field)
            return SubmitResult(sms.ref, str(carrier_id), None,
                                int(parts) if isinstance(parts, int) else None)
        if status in self._already:
            carrier_id = answer.get(fmt.id_field)
            return SubmitResult(sms.ref, None if carrier_id in (None, "") else str(carrier_id),
                                None, None, already_accepted=True)
        error = answer.get(fmt.error_field) or status or "no status"
        if status in self._fatal:
            return SubmitResult(sms.ref, error=self.permanent(
                f"the vendor refuses the account ({fmt.status_field} {status}: {error}); "
                "sending stops until an operator fixes it", status=ACCOUNT_REFUSED))
        if status in self._transient:
            return SubmitResult(sms.ref, error=self.transient(f"{status}: {error}"))
        if status in self._wrong_route:
            return SubmitResult(sms.ref, error=self.wrong_route(f"not this route's: {error}",
                                                                reason=status))
        return SubmitResult(sms.ref, error=self.permanent(f"rejected: {error}"))

    async def _post(self, url: str, body: Any, headers: Mapping[str, str]) -> Any:
        try:
            response = await self.client.post(
                url, content=json.dumps(body, ensure_ascii=False).encode(), headers=headers
            )
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc
        raise_for_status(response, self.gateway_id)
        try:
            return response.json()
        except ValueError as exc:
            raise self.transient(f"answer is not JSON: {response.text[:80]!r}",
                                 status=response.status_code, in_doubt=True) from exc

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        results = await self._send(batch)
        if self._fatal:
            return self._account_refusal(results)
        return results

    def _account_refusal(self, results: list[SubmitResult]) -> list[SubmitResult]:
        """A ``result.fatal`` code stops the run: raised for the whole batch (status 403,
        which the engine stops on, the rows staying queued) — unless some message of the
        batch was accepted, whose result must not be lost: then the refused ones become
        transient and the next request, refused whole, stops the run."""
        refused = [r.error for r in results if isinstance(r.error, PermanentGatewayError)
                   and r.error.status == ACCOUNT_REFUSED]
        if not refused:
            return results
        if not any(r.accepted for r in results):
            raise refused[0]
        return [r if r.error is None or r.error.status != ACCOUNT_REFUSED
                else r._replace(error=self.transient(f"not sent: {r.error}"))
                for r in results]

    async def _send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        cfg = self.config
        if len(batch) == 1 or not cfg.batch_url:
            return await self._send_one_by_one(batch)
        answer = await self._post(
            cfg.batch_url, {cfg.batch_key: [self._body(s) for s in batch]}, self._headers
        )
        items = answer.get(cfg.result.results_key) if isinstance(answer, Mapping) else None
        if not isinstance(items, list):
            if isinstance(answer, Mapping) and str(answer.get(cfg.result.status_field)) in self._fatal:
                # the vendor refused the whole request for the account (bad key…): stop
                refusal = self._classify(batch[0], answer).error
                assert refusal is not None
                raise refusal
            raise self.transient(f"batch answer has no list {cfg.result.results_key!r}")
        ref_field = cfg.result.ref_field
        by_ref = {str(i.get(ref_field)): i for i in items
                  if (i.__class__ is dict or isinstance(i, Mapping)) and ref_field
                  and i.get(ref_field) is not None}
        if by_ref:
            answers = [by_ref.get(str(s.ref), _MISSING) for s in batch]
            if len(by_ref) == len(batch) or any(a is not _MISSING for a in answers):
                # Answers carry our refs: each message is judged by its own answer, and a
                # message the answer leaves out is retried alone — resending the whole
                # batch would duplicate the accepted ones (issue 4 review).
                return self._classify_many(batch, answers)
        if len(items) != len(batch):
            raise self.transient(f"batch of {len(batch)} answered with {len(items)} results "
                                 f"and no {ref_field!r} to match them on")
        return self._classify_many(batch, items)

    async def _send_one_by_one(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One request per message.  With several messages, a failure after some were
        answered never raises: the answered ones are kept (raising would make the engine
        resend them), a message-specific refusal (400…) fails that message only, and
        after a transient or an account-level (401/403) error the rest are returned as
        transient, unsent."""
        cfg = self.config
        results: list[SubmitResult] = []
        for index, sms in enumerate(batch):
            headers = dict(self._headers)
            if cfg.idempotency_header and sms.idempotency_key:
                headers[cfg.idempotency_header] = sms.idempotency_key
            try:
                answer = await self._post(cfg.url, self._body(sms), headers)
            except GatewayError as exc:
                if len(batch) == 1:
                    raise
                if isinstance(exc, PermanentGatewayError) and exc.status not in FATAL_STATUSES:
                    results.append(SubmitResult(sms.ref, error=exc))
                    continue
                if not results:
                    raise
                return results + self._unsent(batch[index:], exc)
            result = self._classify(sms, answer)
            results.append(result)
            if (isinstance(result.error, PermanentGatewayError)
                    and result.error.status == ACCOUNT_REFUSED and index + 1 < len(batch)):
                return results + self._unsent(batch[index + 1:], result.error)
        return results

    def _unsent(self, rest: Sequence[OutgoingSms], cause: GatewayError) -> list[SubmitResult]:
        error = self.transient(f"not sent after an earlier error: {cause}")
        return [SubmitResult(s.ref, error=error) for s in rest]

    def _classify_many(self, batch: Sequence[OutgoingSms], answers: Sequence[Any]) -> list[
        SubmitResult
    ]:
        """``_classify`` for a batch, with the common case (a plain accepted answer with a
        string id) inline; anything else goes through ``_classify``."""
        fmt = self.config.result
        status_field, id_field, parts_field = fmt.status_field, fmt.id_field, fmt.parts_field
        accepted = self._accepted
        results: list[SubmitResult] = []
        for sms, answer in zip(batch, answers, strict=True):
            if answer.__class__ is dict:
                status = answer.get(status_field, "")
                carrier_id = answer.get(id_field)
                if (status.__class__ is str and status in accepted
                        and carrier_id.__class__ is str and carrier_id):
                    parts = answer.get(parts_field)
                    results.append(SubmitResult(sms.ref, carrier_id, None,
                                                int(parts) if isinstance(parts, int) else None))
                    continue
            results.append(self._classify(sms, answer))
        return results

    async def poll_reports(self) -> list[DeliveryReport]:
        """One page of reports; a page holding only statuses that are not final
        (``reports.ignore``) is skipped, so an empty list means no reports are waiting."""
        if not self.config.poll_url:
            return []
        for _ in range(100):  # bounded: a server that only ever answers "sending"
            async with translate_transport_errors(self.gateway_id):
                response = await self.client.get(self.config.poll_url, headers=self._headers)
                await response.aread()
            raise_for_status(response, self.gateway_id)
            ignored: Counter[str] = Counter()
            try:
                reports = parse_reports(response.json(), self.config.reports, source="poll",
                                        ignored=ignored)
            except ValueError as exc:
                raise self.transient(f"unreadable reports: {exc}") from exc
            if reports or not ignored:
                return reports
        return []
