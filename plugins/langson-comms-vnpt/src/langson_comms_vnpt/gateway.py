"""``kind = "vnpt"``: one ``send_sms_list`` request per message.

* the rendered text is the registered template's parameter 1 (``PARAMS[{NUM: "1",
  CONTENT}]``, ``TEMPLATEID`` from the table): register with VNPT a template whose one
  parameter is the whole text;
* ``REQID`` is the row's idempotency key: a resend after a lost answer (a timeout,
  ``kill -9``) carries the same id, and the "REQID already taken" code
  (``codes.already``) is recorded as accepted, never failed nor sent again;
* ``RPLY.ERROR`` in ``codes.ok`` → accepted ("queued", not delivered), the REQID standing
  for the carrier id (the answer has none); ``transient``/``throttled`` (after
  ``throttle_backoff``) retried; ``fatal`` stops the run (``PermanentGatewayError``, status
  403, rows stay queued); ``not_subscriber`` → ``WrongRouteError`` (next route); anything
  else a permanent refusal of that message;
* ``DATACODING`` 0 for GSM-7 text, 8 (UCS-2) for Unicode;
* HTTP: 408/425/429 (with ``Retry-After``)/5xx transient, 401/403 stop the run, other 4xx
  permanent; timeouts, connection errors and an unreadable answer transient.

What the carrier says is quoted in errors with the API password and any phone number
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

from .config import VnptConfig
from .envelope import DATACODING_GSM, DATACODING_UCS2, Reply, UnreadableReply, build_request, parse_reply

__all__ = ["ACCOUNT_REFUSED", "VnptGateway"]

#: the status of the error a ``codes.fatal`` answer raises (one of ``FATAL_STATUSES``)
ACCOUNT_REFUSED = 403

_NUMBER = re.compile(r"\+?\d{8,}")
_CODE_GROUPS = ("ok", "already", "fatal", "throttled", "transient", "not_subscriber")


class VnptGateway(SmsGateway):
    """``kind = "vnpt"``: VNPT's brandname JSON API (``RQST`` ``send_sms_list``)."""

    name = "vnpt"

    def __init__(self, gateway_id: str, config: VnptConfig, *, api_pass: str,
                 client: httpx.AsyncClient | None = None) -> None:
        super().__init__(gateway_id, config.capabilities(), client=client)
        self.config = config
        self._api_pass = api_pass
        self._scrubber = Scrubber.of([api_pass])
        self._headers = {"content-type": "application/json; charset=utf-8"}
        self._static = {"CONTRACTTYPEID": config.contract_type_id, "CONTRACTID": config.contract_id,
                        "TEMPLATEID": config.template_id, "SCHEDULETIME": "",
                        "ISTELCOSUB": config.is_telco_sub, "AGENTID": config.agent_id,
                        "APIUSER": config.api_user, "APIPASS": api_pass, "USERNAME": config.username}
        codes = config.codes
        self._ok = frozenset(codes.ok)
        self._already = frozenset(codes.already)
        self._fatal = frozenset(codes.fatal)
        self._throttled = frozenset(codes.throttled)
        self._transient = frozenset(codes.transient)
        self._not_subscriber = frozenset(codes.not_subscriber)

    def __repr__(self) -> str:  # never the password
        return f"VnptGateway({self.gateway_id!r}, url={self.config.url!r})"

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> VnptConfig:
        """The checked table (located errors), without reading the password."""
        for clear in ("api_pass", "apipass", "APIPASS", "password"):
            if clear in config:
                raise context.error("the API password never goes in the campaign file: name an "
                                    "environment variable (api_pass_env) or a file (api_pass_file)", clear)
        parsed = context.structure(dict(config), VnptConfig)
        if (parsed.api_pass_env is None) == (parsed.api_pass_file is None):
            raise context.error("expected exactly one of api_pass_env (an environment variable's "
                                "name) or api_pass_file (a file holding the API password)", "api_pass_env")
        if not parsed.url.startswith(("http://", "https://")):
            raise context.error(f"{parsed.url!r} is not an http(s) URL", "url")
        try:
            url = httpx.URL(parsed.url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise context.error("the URL cannot be read", "url") from None
        if url.userinfo or url.query:
            raise context.error("the URL carries credentials or a query: remove them (the API "
                                "password goes in api_pass_env or api_pass_file)", "url")
        for key in ("api_user", "agent_id", "contract_id", "template_id", "username"):
            if not getattr(parsed, key).strip():
                raise context.error(f"{key} is empty", key)
        if parsed.is_telco_sub not in ("0", "1"):
            raise context.error(f"{parsed.is_telco_sub!r} is not \"0\" or \"1\"", "is_telco_sub")
        if parsed.transport not in ("aiohttp", "httpx"):
            raise context.error(f"{parsed.transport!r} is not a transport (expected 'aiohttp' or "
                                "'httpx')", "transport")
        if not parsed.codes.ok:
            raise context.error("codes.ok is empty (the code that says accepted)", "codes.ok")
        seen: dict[str, str] = {}
        for group in _CODE_GROUPS:
            for code in getattr(parsed.codes, group):
                if code in seen:
                    raise context.error(f"{code!r} is in both codes.{seen[code]} and codes.{group}: "
                                        "keep one", f"codes.{group}")
                seen[code] = group
        return parsed

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Everything ``from_config`` checks except the API password itself."""
        cls.parse_config(config, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext,
                    env: Mapping[str, str] | None = None) -> Self:
        parsed = cls.parse_config(config, context)
        api_pass = read_secret(context, "api_pass", env_name=parsed.api_pass_env,
                               file_name=parsed.api_pass_file, what="the VNPT API password", environ=env)
        return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed, api_pass=api_pass)

    def make_client(self) -> httpx.AsyncClient:
        return make_http_client(connections=self.config.connections, timeout=self.config.timeout,
                                transport=self.config.transport)

    # -- the wire ------------------------------------------------------------------------

    @staticmethod
    def request_id(sms: OutgoingSms) -> str:
        """The REQID of ``sms``: its idempotency key (the same on every resend)."""
        return sms.idempotency_key or f"ref{sms.ref}"

    def request(self, sms: OutgoingSms) -> dict[str, Any]:
        """The ``RQST`` fields for ``sms`` (``build_request`` adds ``name``)."""
        return {"REQID": self.request_id(sms),
                "LABELID": sms.sender or self.config.label_id or "",
                **self._static, "PARAMS": [{"NUM": "1", "CONTENT": sms.text}],
                "MOBILELIST": sms.msisdn.removeprefix("+"),
                "DATACODING": DATACODING_UCS2 if sms.unicode else DATACODING_GSM}

    def _quote(self, text: str) -> str:
        """The carrier's words, safe to store and log: no password, no phone number."""
        return _NUMBER.sub("<number>", self._scrubber.scrub(text.strip()))[:200]

    def _http_error(self, response: httpx.Response) -> GatewayError:
        status = response.status_code
        if 300 <= status < 400:
            return self.permanent(f"HTTP {status}: {REDIRECT_HINT}", status=status)
        if status in (408, 425, 429) or status >= 500:
            return self.transient(f"HTTP {status}", status=status,
                                  retry_after=parse_retry_after(response.headers.get("retry-after")))
        return self.permanent(f"HTTP {status}", status=status)

    def _judge(self, sms: OutgoingSms, reply: Reply) -> SubmitResult:
        request_id = self.request_id(sms)
        code = reply.error
        if code in self._ok:
            return SubmitResult(sms.ref, request_id)
        if code in self._already:
            return SubmitResult(sms.ref, request_id, already_accepted=True)
        said = f"ERROR {self._quote(code)}: {self._quote(reply.description) or 'no description'}"
        if code in self._fatal:
            raise self.permanent(f"the carrier refuses the account ({said}); sending stops until an "
                                 "operator fixes it", status=ACCOUNT_REFUSED)
        if code in self._throttled:
            raise self.transient(f"throttled ({said})", retry_after=self.config.throttle_backoff)
        if code in self._transient:
            raise self.transient(said)
        if code in self._not_subscriber:
            return SubmitResult(sms.ref, error=self.wrong_route(
                f"not a VinaPhone subscriber ({said})", reason="not_subscriber"))
        return SubmitResult(sms.ref, error=self.permanent(f"refused: {said}"))

    async def _send_one(self, sms: OutgoingSms) -> SubmitResult:
        body = build_request(self.request(sms))
        try:
            response = await self.client.post(self.config.url, content=body, headers=self._headers)
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc
        if response.status_code >= 300:
            raise self._http_error(response)
        try:
            reply = parse_reply(response.content)
        except UnreadableReply as exc:
            raise self.transient(f"unreadable answer (HTTP {response.status_code}): {exc}",
                                 status=response.status_code, in_doubt=True) from None
        return self._judge(sms, reply)

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One request per message (``max_batch`` 1).  Given several, a failure after some
        were answered keeps their results and returns the rest as transient, unsent."""
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
