"""``kind = "viettel"``: one ``wsCpMt`` SOAP call per message.

* ``result`` 1 → accepted ("queued", not delivered); the carrier gives no message id,
  so the ``RequestID`` we sent stands for it;
* ``RequestID`` is the row's idempotency key: a resend after a lost answer (a timeout,
  ``kill -9``) carries the same id, and the service's "duplicate request" code
  (``codes.already``) is recorded as accepted, never as a failure nor sent again;
* other results are read from the answer's ``message`` (``codes``): ``transient`` and
  ``throttled`` (waits ``throttle_backoff``) are retried; ``fatal`` (credentials,
  balance, brandname) stops the run — ``PermanentGatewayError`` with status 403, the
  rows stay queued; ``not_subscriber`` (a number ported away) is a ``WrongRouteError``,
  the row takes its next route; anything else is a permanent refusal of that message;
* HTTP: a SOAP fault ``Client`` is permanent (status 400), ``Server`` transient; 408,
  425, 429 (with ``Retry-After``) and 5xx transient; 401/403 stop the run; other 4xx
  permanent; timeouts and connection errors transient.

What the carrier says is quoted in errors with the password and any phone number
removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Self

import httpx

from langson_comms.config import ConfigContext
from langson_comms.errors import GatewayError, PermanentGatewayError
from langson_comms.scrub import Scrubber
from langson_comms.sms import read_secret
from langson_comms.sms.gateway import (
    FATAL_STATUSES,
    REDIRECT_HINT,
    TRANSPORT_ERRORS,
    OutgoingSms,
    SmsGateway,
    SubmitResult,
    make_http_client,
    parse_retry_after,
    transport_error,
)

from .config import ViettelConfig
from .soap import Answer, Fault, UnreadableAnswer, build_request, parse_answer

__all__ = ["ACCOUNT_REFUSED", "ViettelGateway"]

#: the status of the error a ``codes.fatal`` answer raises (one of ``FATAL_STATUSES``)
ACCOUNT_REFUSED = 403

_NUMBER = re.compile(r"\+?\d{8,}")


class ViettelGateway(SmsGateway):
    """``kind = "viettel"``: Viettel's brandname SOAP service (``wsCpMt``)."""

    name = "viettel"

    def __init__(self, gateway_id: str, config: ViettelConfig, *, password: str,
                 client: httpx.AsyncClient | None = None) -> None:
        super().__init__(gateway_id, config.capabilities(), client=client)
        self.config = config
        self._password = password
        self._scrubber = Scrubber.of([password])
        self._headers = {"content-type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        codes = config.codes
        self._already = frozenset(codes.already)
        self._fatal = frozenset(codes.fatal)
        self._throttled = frozenset(codes.throttled)
        self._transient = frozenset(codes.transient)
        self._not_subscriber = frozenset(codes.not_subscriber)

    def __repr__(self) -> str:  # never the password
        return f"ViettelGateway({self.gateway_id!r}, url={self.config.url!r})"

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> ViettelConfig:
        """The checked table (located errors), without reading the password."""
        for clear in ("password", "Password"):
            if clear in config:
                raise context.error("a password never goes in the campaign file: name an environment "
                                    "variable (password_env) or a file (password_file)", clear)
        parsed = context.structure(dict(config), ViettelConfig)
        if (parsed.password_env is None) == (parsed.password_file is None):
            raise context.error("expected exactly one of password_env (an environment variable's "
                                "name) or password_file (a file holding the password)", "password_env")
        if not parsed.url.startswith(("http://", "https://")):
            raise context.error(f"{parsed.url!r} is not an http(s) URL", "url")
        try:
            userinfo = httpx.URL(parsed.url).userinfo
        except (httpx.InvalidURL, TypeError, ValueError):
            raise context.error("the URL cannot be read", "url") from None
        if userinfo:
            raise context.error("the URL carries credentials (user:password@host): remove them",
                                "url")
        for key in ("user", "cp_code"):
            if not getattr(parsed, key).strip():
                raise context.error(f"{key} is empty", key)
        if parsed.transport not in ("aiohttp", "httpx"):
            raise context.error(f"{parsed.transport!r} is not a transport (expected 'aiohttp' or "
                                "'httpx')", "transport")
        seen: dict[str, str] = {}
        codes = parsed.codes
        for group in ("already", "fatal", "throttled", "transient", "not_subscriber"):
            for code in getattr(codes, group):
                if code in seen:
                    raise context.error(f"{code!r} is in both codes.{seen[code]} and codes.{group}: "
                                        "keep one", f"codes.{group}")
                seen[code] = group
        return parsed

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Everything ``from_config`` checks except the password itself."""
        cls.parse_config(config, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext,
                    env: Mapping[str, str] | None = None) -> Self:
        parsed = cls.parse_config(config, context)
        password = read_secret(context, "password", env_name=parsed.password_env,
                               file_name=parsed.password_file, what="the Viettel password", environ=env)
        return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed, password=password)

    def make_client(self) -> httpx.AsyncClient:
        return make_http_client(connections=self.config.connections, timeout=self.config.timeout,
                                transport=self.config.transport)

    # -- the wire ------------------------------------------------------------------------

    @staticmethod
    def request_id(sms: OutgoingSms) -> str:
        """The RequestID of ``sms``: its idempotency key (the same on every resend)."""
        return sms.idempotency_key or f"ref{sms.ref}"

    def _fields(self, sms: OutgoingSms) -> dict[str, str]:
        cfg = self.config
        number = sms.msisdn.removeprefix("+")
        return {"User": cfg.user, "Password": self._password, "CPCode": cfg.cp_code,
                "RequestID": self.request_id(sms), "UserID": number, "ReceiverID": number,
                "ServiceID": sms.sender or cfg.service_id or "", "CommandCode": cfg.command_code,
                "Content": sms.text, "ContentType": "1" if sms.unicode else "0"}

    def _quote(self, text: str) -> str:
        """The carrier's words, safe to store and log: no password, no phone number."""
        return _NUMBER.sub("<number>", self._scrubber.scrub(text.strip()))[:200]

    def _fault(self, fault: Fault, status: int) -> GatewayError:
        detail = f"SOAP fault {fault.code or '?'}: {self._quote(fault.string)}"
        if fault.code.lower() == "client":
            return self.permanent(detail, status=400)
        return self.transient(detail, status=status if status >= 400 else None)

    def _http_error(self, response: httpx.Response) -> GatewayError:
        status = response.status_code
        detail = f"HTTP {status}"
        if 300 <= status < 400:
            return self.permanent(f"{detail}: {REDIRECT_HINT}", status=status)
        if status in (408, 425, 429) or status >= 500:
            return self.transient(detail, status=status,
                                  retry_after=parse_retry_after(response.headers.get("retry-after")))
        return self.permanent(detail, status=status)

    def _judge(self, sms: OutgoingSms, answer: Answer) -> SubmitResult:
        request_id = self.request_id(sms)
        if answer.result == "1":
            return SubmitResult(sms.ref, request_id)
        code = answer.message.split(":", 1)[0].strip()
        said = f"result {self._quote(answer.result)}: {self._quote(answer.message) or 'no message'}"
        if code in self._already:
            return SubmitResult(sms.ref, request_id, already_accepted=True)
        if code in self._fatal:
            raise self.permanent(f"the carrier refuses the account ({said}); sending stops until an "
                                 "operator fixes it", status=ACCOUNT_REFUSED)
        if code in self._throttled:
            raise self.transient(f"throttled ({said})", retry_after=self.config.throttle_backoff)
        if code in self._transient:
            raise self.transient(said)
        if code in self._not_subscriber:
            return SubmitResult(sms.ref, error=self.wrong_route(
                f"not a Viettel subscriber ({said})", reason="not_subscriber"))
        return SubmitResult(sms.ref, error=self.permanent(f"refused: {said}"))

    async def _send_one(self, sms: OutgoingSms) -> SubmitResult:
        try:
            content = build_request(self._fields(sms))
        except ValueError as exc:
            return SubmitResult(sms.ref, error=self.permanent(f"the text cannot be sent in XML: {exc}"))
        try:
            response = await self.client.post(self.config.url, content=content, headers=self._headers)
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc
        try:
            answer = parse_answer(response.content)
        except UnreadableAnswer as exc:
            if response.status_code >= 300:
                raise self._http_error(response) from None
            raise self.transient(f"unreadable answer (HTTP {response.status_code}): {exc}",
                                 status=response.status_code, in_doubt=True) from None
        if isinstance(answer, Fault):
            error = self._fault(answer, response.status_code)
            if isinstance(error, PermanentGatewayError):
                return SubmitResult(sms.ref, error=error)
            raise error
        if response.status_code >= 300:
            raise self._http_error(response)
        return self._judge(sms, answer)

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One call per message (``max_batch`` 1).  Given several, a failure after some were
        answered keeps their results and returns the rest as transient, unsent."""
        results: list[SubmitResult] = []
        for index, sms in enumerate(batch):
            try:
                results.append(await self._send_one(sms))
            except GatewayError as exc:
                if not results:
                    raise
                stop = isinstance(exc, PermanentGatewayError) and exc.status in FATAL_STATUSES
                error = self.transient(f"not sent after an earlier error{' (account)' if stop else ''}: "
                                       f"{exc}")
                return results + [SubmitResult(s.ref, error=error) for s in batch[index:]]
        return results
