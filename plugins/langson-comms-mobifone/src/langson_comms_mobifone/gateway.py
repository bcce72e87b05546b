"""``kind = "mobifone"``: MobiFone's brandname session API over HTTP.

Wire format (from public integrations — to be checked against the contract; README)::

    POST <url>/login.jsp   form userName, password          → {"status": "0", "sid": "…"}
    POST <url>/send.jsp    form sid, sender, recipient (84…), content, requestId
    POST <url>/send_2.jsp  the same + enCoding=ALPHA_UCS2   (Unicode: Vietnamese with marks)
                           → {"status": "0", "msgid": "…"}  or  {"status": "<code>", "desc": "…"}
                           → HTTP 401 "SessionExpired": log in again

Every field goes in the form body, never in the URL (httpx logs URLs).  The gateway logs
in lazily, on the first ``send``; a session the API declares expired is replaced by
logging in again **once** per batch, and only the messages not yet taken are sent again
(one request per message, in order: what was answered before the expiry is kept).
Concurrent batches share one session: after an expiry only the first of them logs in.

``requestId`` is the row's idempotency key: the API answers a repeated id with status
``1`` and the first message id, recorded as already accepted (never sent twice).
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from langson_comms.config import ConfigContext
from langson_comms.errors import GatewayError, PermanentGatewayError, TransientGatewayError
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

from .config import MobifoneConfig

__all__ = ["ACCOUNT_REFUSED", "MobifoneGateway", "Status"]

#: The status of the error raised when the API refuses the account (login refused,
#: brandname not registered, no quota, account locked): one of ``FATAL_STATUSES``, so
#: the engine stops with the rows still queued.
ACCOUNT_REFUSED = 403


class Status:
    """The ``status`` codes of a ``send.jsp`` answer (README has the table)."""

    ACCEPTED = "0"
    DUPLICATE = "1"            # this requestId was taken before: already accepted
    INVALID_RECIPIENT = "2"    # permanent for the message
    NOT_SUBSCRIBER = "3"       # ported away from MobiFone: the row's next route
    CONTENT_REFUSED = "4"      # content does not match a registered template: permanent
    THROTTLED = "5"            # transient, wait ``throttle_backoff``
    BUSY = "6"                 # transient
    BRANDNAME_REFUSED = "7"    # the account: stops the run
    NO_QUOTA = "8"             # the account: stops the run
    ACCOUNT_LOCKED = "9"       # the account: stops the run

    TRANSIENT = frozenset({THROTTLED, BUSY})
    FATAL = frozenset({BRANDNAME_REFUSED, NO_QUOTA, ACCOUNT_LOCKED})


_NUMBERISH = re.compile(r"\+?\d[\d .-]{6,}\d")
_SESSION_EXPIRED = "sessionexpired"


def _vendor_text(value: object) -> str:
    """A vendor's description, short, and with anything that looks like a phone number
    masked (the vendor may echo the recipient: personal data stays out of reasons)."""
    text = str(value)[:120].strip()
    return _NUMBERISH.sub("<number>", text)


def _has_userinfo(url: str) -> bool:
    return "@" in urlsplit(url).netloc


class MobifoneGateway(SmsGateway):
    """``kind = "mobifone"``: log in for a session id, then one request per message."""

    name = "mobifone"

    def __init__(self, gateway_id: str, config: MobifoneConfig, *, password: str,
                 client: httpx.AsyncClient | None = None) -> None:
        super().__init__(gateway_id, config.capabilities(), client=client)
        self.config = config
        self._password = password
        self._sid: str | None = None
        #: how many sessions were opened: a batch that saw session N expire logs in only
        #: if no other batch opened session N+1 meanwhile
        self._generation = 0
        self._login_lock = asyncio.Lock()
        base = config.url.rstrip("/")
        self._login_url = f"{base}/login.jsp"
        self._send_url = f"{base}/send.jsp"
        self._send_unicode_url = f"{base}/send_2.jsp"
        self.stats: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f"<MobifoneGateway {self.gateway_id!r} user {self.config.username!r}>"

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> MobifoneConfig:
        for clear in ("password", "sid"):
            if clear in config:
                raise context.error("a credential never goes in the campaign file: name an "
                                    "environment variable (password_env) or a file "
                                    "(password_file)", clear)
        parsed = context.structure(dict(config), MobifoneConfig)
        if not parsed.url.startswith(("http://", "https://")):
            raise context.error(f"{parsed.url!r} is not an http(s) URL", "url")
        if _has_userinfo(parsed.url) or urlsplit(parsed.url).query:
            raise context.error("the URL carries credentials or a query: give the base URL "
                                "only (login.jsp and send.jsp are below it)", "url")
        if not parsed.username:
            raise context.error("username is empty", "username")
        if (parsed.password_env is None) == (parsed.password_file is None):
            raise context.error("expected exactly one of password_env (an environment "
                                "variable's name) or password_file (a file holding the "
                                "password)", "password_env")
        if parsed.transport not in ("aiohttp", "httpx"):
            raise context.error(f"{parsed.transport!r} is not a transport (expected "
                                "'aiohttp' or 'httpx')", "transport")
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
                               file_name=parsed.password_file, what="the MobiFone API password", environ=env)
        return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed, password=password)

    def make_client(self) -> httpx.AsyncClient:
        return make_http_client(connections=self.config.concurrency, timeout=self.config.timeout,
                                transport=self.config.transport)

    # -- the wire ------------------------------------------------------------------------

    async def _post(self, url: str, form: Mapping[str, str]) -> httpx.Response:
        try:
            return await self.client.post(url, data=form)
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc

    def _http_error(self, response: httpx.Response, what: str) -> GatewayError:
        """An HTTP error status, without the body (it may echo what we sent)."""
        status = response.status_code
        detail = f"{what}: HTTP {status}"
        if 300 <= status < 400:
            return self.permanent(f"{detail}: {REDIRECT_HINT}", status=status)
        if status in (408, 425, 429) or status >= 500:
            return self.transient(detail, status=status, retry_after=parse_retry_after(
                response.headers.get("retry-after")))
        return self.permanent(detail, status=status)

    def _json(self, response: httpx.Response, what: str) -> Mapping[str, Any]:
        try:
            answer = response.json()
        except (ValueError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, Mapping):
            raise self.transient(f"{what}: the answer is not a JSON object "
                                 f"({response.headers.get('content-type', 'no content type')})",
                                 status=response.status_code, in_doubt=what == "send")
        return answer

    @staticmethod
    def _expired(response: httpx.Response) -> bool:
        return response.status_code == 401 and _SESSION_EXPIRED in response.text.lower()

    # -- the session ---------------------------------------------------------------------

    async def _session(self) -> tuple[int, str]:
        if self._sid is not None:
            return self._generation, self._sid
        return await self._login(stale=None)

    async def _login(self, stale: int | None) -> tuple[int, str]:
        """Log in unless another batch already replaced session ``stale``."""
        async with self._login_lock:
            if self._sid is not None and self._generation != stale:
                return self._generation, self._sid
            self._sid = None
            response = await self._post(self._login_url, {
                "userName": self.config.username, "password": self._password})
            if response.status_code == 401:
                raise self.permanent(
                    f"MobiFone refuses to log in user {self.config.username!r} (HTTP 401); "
                    "sending stops until an operator fixes the credentials", status=401)
            if response.status_code >= 300:
                raise self._http_error(response, "login")
            answer = self._json(response, "login")
            status = str(answer.get("status", ""))
            sid = answer.get("sid")
            if status != Status.ACCEPTED:
                raise self.permanent(
                    f"MobiFone refuses to log in user {self.config.username!r}: status "
                    f"{status or '?'} ({_vendor_text(answer.get('desc', ''))}); sending stops "
                    "until an operator fixes the account", status=401)
            if not isinstance(sid, str) or not sid:
                raise self.transient("login answered without a session id")
            self._sid = sid
            self._generation += 1
            self.stats["logins"] += 1
            return self._generation, sid

    async def close(self) -> None:
        """Forget the session (the API has no documented log-out)."""
        self._sid = None

    # -- sending -------------------------------------------------------------------------

    def _form(self, sms: OutgoingSms, sid: str) -> tuple[str, dict[str, str]]:
        form = {"sid": sid, "sender": sms.sender or self.config.sender or "",
                "recipient": sms.msisdn.removeprefix("+"), "content": sms.text,
                "requestId": sms.idempotency_key or str(sms.ref)}
        if sms.unicode:
            form["enCoding"] = "ALPHA_UCS2"
            return self._send_unicode_url, form
        return self._send_url, form

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One request per message, in order.  A failure after some messages were
        answered never raises: those answers are kept and the rest come back transient,
        unsent; a refusal of one message (a 400, a bad number) fails that message only."""
        await self._session()  # a login that fails fails the whole batch
        relogged = [False]
        results: list[SubmitResult] = []
        for index, sms in enumerate(batch):
            try:
                result = await self._send_one(sms, relogged)
            except GatewayError as exc:
                if len(batch) == 1:
                    raise
                if isinstance(exc, PermanentGatewayError) and exc.status not in FATAL_STATUSES:
                    results.append(SubmitResult(sms.ref, error=exc))
                    continue
                if not results:
                    raise
                return results + self._unsent(batch[index:], exc)
            results.append(result)
            error = result.error
            if (isinstance(error, TransientGatewayError) and error.retry_after is not None
                    and index + 1 < len(batch)):
                return results + self._unsent(batch[index + 1:], error)  # throttled: stop here
        return results

    def _unsent(self, rest: Sequence[OutgoingSms], cause: GatewayError) -> list[SubmitResult]:
        retry_after = cause.retry_after if isinstance(cause, TransientGatewayError) else None
        error = self.transient(f"not sent after an earlier error: {cause}", retry_after=retry_after)
        return [SubmitResult(s.ref, error=error) for s in rest]

    async def _send_one(self, sms: OutgoingSms, relogged: list[bool]) -> SubmitResult:
        digits = sms.msisdn.removeprefix("+")
        if not (digits.isascii() and digits.isdigit()):
            return SubmitResult(sms.ref, error=self.permanent("the number is not digits"))
        if sms.unicode and not self.config.supports_unicode:
            return SubmitResult(sms.ref, error=self.permanent(
                "a Unicode text, and this gateway is configured without Unicode"))
        generation, sid = await self._session()
        url, form = self._form(sms, sid)
        response = await self._post(url, form)
        if self._expired(response):
            self.stats["sessions_expired"] += 1
            if relogged[0]:
                raise self.transient("the session expired again after logging in again")
            relogged[0] = True
            generation, sid = await self._login(stale=generation)
            url, form = self._form(sms, sid)
            response = await self._post(url, form)
            if self._expired(response):
                self.stats["sessions_expired"] += 1
                raise self.transient("the session expired again right after logging in")
        if response.status_code >= 300:
            raise self._http_error(response, "send")
        return self._classify(sms, self._json(response, "send"))

    def _classify(self, sms: OutgoingSms, answer: Mapping[str, Any]) -> SubmitResult:
        status = str(answer.get("status", ""))
        msgid = answer.get("msgid")
        desc = _vendor_text(answer.get("desc", ""))
        if status == Status.ACCEPTED:
            if msgid in (None, ""):
                return SubmitResult(sms.ref, error=self.transient("accepted without a msgid"))
            self.stats["accepted"] += 1
            return SubmitResult(sms.ref, str(msgid))
        if status == Status.DUPLICATE:
            self.stats["already_accepted"] += 1
            return SubmitResult(sms.ref, None if msgid in (None, "") else str(msgid),
                                already_accepted=True)
        self.stats[f"status_{status or 'none'}"] += 1
        if status == Status.NOT_SUBSCRIBER:
            return SubmitResult(sms.ref, error=self.wrong_route(
                f"status {status}: not a MobiFone subscriber ({desc})", reason="not_subscriber"))
        if status in Status.FATAL:
            raise self.permanent(f"MobiFone refuses the account: status {status} ({desc}); "
                                 "sending stops until an operator fixes it",
                                 status=ACCOUNT_REFUSED)
        if status == Status.THROTTLED:
            return SubmitResult(sms.ref, error=self.transient(
                f"status {status}: throttled ({desc})", retry_after=self.config.throttle_backoff))
        if status in Status.TRANSIENT:
            return SubmitResult(sms.ref, error=self.transient(f"status {status}: {desc}"))
        if not status:
            return SubmitResult(sms.ref, error=self.transient(
                f"an answer without status: {json.dumps(sorted(answer))[:80]}"))
        return SubmitResult(sms.ref, error=self.permanent(f"refused: status {status} ({desc})"))
