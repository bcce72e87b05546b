"""``kind = "zns"``: Zalo ZNS template messages as an SMS-channel route, with SMS fallback.

Wire format (from public integrations — to be checked against Zalo's documentation; README)::

    POST <url>/message/template      header access_token
         {"phone": "849…", "template_id": "…", "template_data": {…}, "tracking_id": "…"}
      → {"error": 0, "message": "Success", "data": {"msg_id": "…", …}}
      → {"error": <negative code>, "message": "…"}
    POST <oauth_url>                 header secret_key; form refresh_token, app_id,
                                     grant_type=refresh_token
      → {"access_token": "…", "refresh_token": "…", "expires_in": "90000"}

``tracking_id`` is the row's idempotency key.  A number without Zalo (or that cannot
receive ZNS, or refused it) and a template Zalo refuses come back as
``WrongRouteError`` — the engine sends that row by its next route (SMS).  An expired
access token is refreshed once per batch and only what was not taken is sent again;
the refresh persists the new single-use refresh token before the new access token is
used (``tokens``).
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self
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

from .tokens import TokenFileError, Tokens, TokenStore
from .zns_config import ZnsConfig

__all__ = ["ACCOUNT_REFUSED", "ZnsError", "ZnsGateway"]

#: The status of the error raised when Zalo refuses the OA (no balance, quota, a refresh
#: token refused): one of ``FATAL_STATUSES``, the engine stops with the rows queued.
ACCOUNT_REFUSED = 403

#: seconds an access token is taken to live when the refresh answer gives no usable
#: ``expires_in`` (Zalo's are said to live about 25 hours)
DEFAULT_LIFETIME = 3600.0
#: a longer ``expires_in`` is not believed (and infinity could not be saved as JSON)
MAX_LIFETIME = 30 * 86400.0


class ZnsError:
    """The ``error`` codes of a ZNS answer this gateway knows (README has the table)."""

    OK = 0
    TOKEN_INVALID = -124
    NO_ZALO_ACCOUNT = -118
    CANNOT_RECEIVE = -119
    USER_REFUSED = -139
    INVALID_PHONE = -108
    TEMPLATE_REFUSED = frozenset({-131, -132, -133})
    RATE_LIMITED = frozenset({-32, -1})
    ACCOUNT = frozenset({-137, -144, -125})
    NO_ROUTE: ClassVar[dict[int, str]] = {NO_ZALO_ACCOUNT: "no_zalo_account", CANNOT_RECEIVE: "no_zalo_account",
                USER_REFUSED: "zns_refused"}


_NUMBERISH = re.compile(r"\+?\d[\d .-]{6,}\d")


def _vendor_text(value: object) -> str:
    return _NUMBERISH.sub("<number>", str(value)[:120].strip())


class ZnsGateway(SmsGateway):
    """``kind = "zns"``: one ZNS template message per row, one request each."""

    name = "zns"

    def __init__(self, gateway_id: str, config: ZnsConfig, *, app_secret: str, token_file: Path,
                 client: httpx.AsyncClient | None = None, now: Callable[[], float] = time.time,
                 checkpoint: Callable[[str], None] | None = None) -> None:
        super().__init__(gateway_id, config.capabilities(), client=client)
        self.config = config
        self._app_secret = app_secret
        self._store = TokenStore(token_file, checkpoint=checkpoint)
        self._now = now
        self._access: str | None = None
        self._expires_at = 0.0
        self._refresh_lock = asyncio.Lock()
        self._pattern = re.compile(config.text_pattern) if config.text_pattern else None
        self._send_url = config.url.rstrip("/") + "/message/template"
        self.stats: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f"<ZnsGateway {self.gateway_id!r} app {self.config.app_id}>"

    # -- configuration -------------------------------------------------------------------

    @classmethod
    def parse_config(cls, config: Mapping[str, Any], context: ConfigContext) -> ZnsConfig:
        for clear in ("app_secret", "access_token", "refresh_token", "secret_key"):
            if clear in config:
                raise context.error("a credential never goes in the campaign file: name an "
                                    "environment variable (app_secret_env) or a file "
                                    "(app_secret_file); the tokens live in token_file", clear)
        parsed = context.structure(dict(config), ZnsConfig)
        for key in ("url", "oauth_url"):
            url = getattr(parsed, key)
            if not url.startswith(("http://", "https://")):
                raise context.error(f"{url!r} is not an http(s) URL", key)
            if "@" in urlsplit(url).netloc or urlsplit(url).query:
                raise context.error("the URL carries credentials or a query: give the URL "
                                    "only", key)
        if (parsed.app_secret_env is None) == (parsed.app_secret_file is None):
            raise context.error("expected exactly one of app_secret_env (an environment "
                                "variable's name) or app_secret_file (a file holding the "
                                "secret)", "app_secret_env")
        if not parsed.template_data:
            raise context.error("template_data is empty: map each template parameter to a "
                                'value, e.g. { noi_dung = "{text}" }', "template_data")
        groups = set(re.compile(parsed.text_pattern).groupindex) if parsed.text_pattern else set()
        for param, names in parsed.fields_used().items():
            unknown = sorted(names - groups - {"text"})
            if unknown:
                raise context.error(f"{{{unknown[0]}}} is neither {{text}} nor a named group of "
                                    "text_pattern", f"template_data.{param}")
        if parsed.transport not in ("aiohttp", "httpx"):
            raise context.error(f"{parsed.transport!r} is not a transport (expected "
                                "'aiohttp' or 'httpx')", "transport")
        return parsed

    @classmethod
    def check_config(cls, config: Mapping[str, Any], context: ConfigContext) -> None:
        """Everything ``from_config`` checks except the secret and the token file."""
        cls.parse_config(config, context)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext,
                    env: Mapping[str, str] | None = None,
                    checkpoint: Callable[[str], None] | None = None) -> Self:
        parsed = cls.parse_config(config, context)
        secret = read_secret(context, "app_secret", env_name=parsed.app_secret_env,
                             file_name=parsed.app_secret_file, what="the Zalo app's secret key", environ=env)
        path = Path(parsed.token_file)
        path = path if path.is_absolute() else Path(context.base_dir) / path
        try:
            TokenStore(path).load()
        except TokenFileError as exc:
            raise context.error(str(exc), "token_file") from None
        return cls(context.key.rsplit(".", 1)[-1] or cls.name, parsed, app_secret=secret,
                   token_file=path, checkpoint=checkpoint)

    def make_client(self) -> httpx.AsyncClient:
        return make_http_client(connections=self.config.concurrency, timeout=self.config.timeout,
                                transport=self.config.transport)

    # -- the access token ----------------------------------------------------------------

    def _fresh(self, expires_at: float) -> bool:
        return expires_at - self._now() > self.config.refresh_margin

    async def _token(self) -> str:
        if self._access is not None and self._fresh(self._expires_at):
            return self._access
        return await self._refresh(stale=self._access)

    async def _refresh(self, stale: str | None) -> str:
        """A usable access token, refreshing unless another batch (or process) already
        replaced ``stale``.  Order: new tokens → on disk → used (``tokens``)."""
        async with self._refresh_lock:
            if self._access is not None and self._access != stale and self._fresh(self._expires_at):
                return self._access
            async with self._store.locked():
                try:
                    tokens = self._store.load()
                except TokenFileError as exc:
                    raise self.permanent(str(exc), status=ACCOUNT_REFUSED) from None
                if (tokens.access_token is not None and tokens.access_token != stale
                        and self._fresh(tokens.expires_at)):
                    self._access, self._expires_at = tokens.access_token, tokens.expires_at
                    return tokens.access_token
                new = await self._ask_for_tokens(tokens.refresh_token)
                self._store.checkpoint("refreshed")
                self._store.save(new)  # before the new access token is used, ever
            self._access, self._expires_at = new.access_token, new.expires_at
            self.stats["refreshes"] += 1
            assert new.access_token is not None
            return new.access_token

    async def _ask_for_tokens(self, refresh_token: str) -> Tokens:
        try:
            response = await self.client.post(
                self.config.oauth_url, headers={"secret_key": self._app_secret},
                data={"refresh_token": refresh_token, "app_id": self.config.app_id,
                      "grant_type": "refresh_token"})
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc
        error = self._http_error(response, "token refresh") if response.status_code >= 300 else None
        if isinstance(error, PermanentGatewayError) and error.status not in FATAL_STATUSES:
            # the token endpoint refusing us is the account's problem: stop for an operator
            raise self.permanent(f"{error}: Zalo refuses the token refresh; sending stops "
                                 "until an operator checks app_id and the app secret", status=401)
        if error is not None:
            raise error
        answer = self._json(response, "token refresh")
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        try:
            lifetime = float(answer["expires_in"])
        except (KeyError, TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME
        if not 0 < lifetime <= MAX_LIFETIME:  # also NaN and infinity
            lifetime = DEFAULT_LIFETIME
        if isinstance(access, str) and access and isinstance(refresh, str) and refresh:
            return Tokens(refresh, access, self._now() + lifetime)
        code = answer.get("error")
        raise self.permanent(
            f"Zalo refused to refresh the access token (error {code!r}: "
            f"{_vendor_text(answer.get('error_name', ''))}): check app_id and the app secret; "
            f"if they are right, the refresh token in {self._store.path} is no longer valid: "
            "authorise the OA again (README)",
            status=401)

    # -- the wire ------------------------------------------------------------------------

    def _http_error(self, response: httpx.Response, what: str) -> GatewayError:
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
            raise self.transient(f"{what}: the answer is not a JSON object", status=response.status_code,
                                 in_doubt=what == "send")
        return answer

    def template_data(self, text: str) -> dict[str, str] | None:
        """The template's parameters for a rendered text; ``None`` when ``text_pattern``
        does not match it."""
        values = {"text": text}
        if self._pattern is not None:
            found = self._pattern.search(text)
            if found is None:
                return None
            values.update(found.groupdict(default=""))
        return {param: value.format_map(values) for param, value in self.config.template_data.items()}

    # -- sending -------------------------------------------------------------------------

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        """One request per message, in order; what was answered before a failure is kept
        and the rest come back transient, unsent (as the MobiFone and generic gateways)."""
        await self._token()  # a refresh that fails fails the whole batch
        refreshed = [False]
        results: list[SubmitResult] = []
        for index, sms in enumerate(batch):
            try:
                result = await self._send_one(sms, refreshed)
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
                return results + self._unsent(batch[index + 1:], error)
        return results

    def _unsent(self, rest: Sequence[OutgoingSms], cause: GatewayError) -> list[SubmitResult]:
        retry_after = cause.retry_after if isinstance(cause, TransientGatewayError) else None
        error = self.transient(f"not sent after an earlier error: {cause}", retry_after=retry_after)
        return [SubmitResult(s.ref, error=error) for s in rest]

    async def _post(self, body: Mapping[str, Any], token: str) -> httpx.Response:
        try:
            return await self.client.post(self._send_url, json=body,
                                          headers={"access_token": token})
        except TRANSPORT_ERRORS as exc:
            raise transport_error(exc, self.gateway_id) from exc

    async def _send_one(self, sms: OutgoingSms, refreshed: list[bool]) -> SubmitResult:
        phone = sms.msisdn.removeprefix("+")
        if not (phone.isascii() and phone.isdigit()):
            return SubmitResult(sms.ref, error=self.permanent("the number is not digits"))
        data = self.template_data(sms.text)
        if data is None:
            return SubmitResult(sms.ref, error=self.wrong_route(
                "the text does not match text_pattern: no template data", reason="template_refused"))
        body = {"phone": phone, "template_id": self.config.template_id, "template_data": data,
                "tracking_id": sms.idempotency_key or str(sms.ref)}
        token = await self._token()
        response = await self._post(body, token)
        answer = self._json(response, "send") if response.status_code < 300 else None
        if answer is not None and answer.get("error") == ZnsError.TOKEN_INVALID:
            self.stats["token_invalid"] += 1
            if refreshed[0]:
                raise self.transient("the access token was refused again after a refresh")
            refreshed[0] = True
            token = await self._refresh(stale=token)
            response = await self._post(body, token)
            answer = self._json(response, "send") if response.status_code < 300 else None
            if answer is not None and answer.get("error") == ZnsError.TOKEN_INVALID:
                raise self.transient("the access token was refused right after a refresh")
        if answer is None:
            raise self._http_error(response, "send")
        return self._classify(sms, answer)

    def _classify(self, sms: OutgoingSms, answer: Mapping[str, Any]) -> SubmitResult:
        code = answer.get("error")
        message = _vendor_text(answer.get("message", ""))
        if code == ZnsError.OK:
            data = answer.get("data")
            msg_id = data.get("msg_id") if isinstance(data, Mapping) else None
            if msg_id in (None, ""):
                return SubmitResult(sms.ref, error=self.transient("accepted without a msg_id"))
            self.stats["accepted"] += 1
            return SubmitResult(sms.ref, str(msg_id))
        if not isinstance(code, int) or isinstance(code, bool):
            return SubmitResult(sms.ref, error=self.transient(f"an answer without an error code: {message}"))
        self.stats[f"error_{code}"] += 1
        if code in ZnsError.NO_ROUTE:
            return SubmitResult(sms.ref, error=self.wrong_route(
                f"ZNS error {code}: {message}", reason=ZnsError.NO_ROUTE[code]))
        if code in ZnsError.TEMPLATE_REFUSED:
            return SubmitResult(sms.ref, error=self.wrong_route(
                f"ZNS error {code}: template refused ({message})", reason="template_refused"))
        if code in ZnsError.ACCOUNT:
            raise self.permanent(f"Zalo refuses the OA: error {code} ({message}); sending stops "
                                 "until an operator fixes it", status=ACCOUNT_REFUSED)
        if code in ZnsError.RATE_LIMITED:
            return SubmitResult(sms.ref, error=self.transient(
                f"ZNS error {code}: rate limited ({message})", retry_after=self.config.throttle_backoff))
        return SubmitResult(sms.ref, error=self.permanent(f"ZNS error {code}: {message}"))
