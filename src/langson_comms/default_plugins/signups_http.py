"""The built-in ``http_poll`` sign-up source: page through a platform's JSON API.

Written as a third party would: it subclasses the public ``SignupSource``, talks HTTP
with httpx (the transport is injectable: ``with_transport``, and so is the whole client:
``with_http_client``, a host's client that is used and never closed) and maps JSON items with
``langson_comms.signups.json_items``.

A ``[signups.<key>]`` table of kind ``http_poll``::

    [signups.postmart]
    kind = "http_poll"
    platform = "postmart"
    url = "https://langson.postmart.vn/api/partner/orders"
    items = "data.items"            # JSON path of the list of items ("" = the answer is the list)
    pagination = "cursor"           # "cursor" (the default) or "page"
    cursor_param = "cursor"         # cursor: the query parameter carrying the cursor …
    next_cursor = "data.next"       # … and the JSON path of the next one (absent/null/"" = last page)
    page_param = "page"             # page: the query parameter carrying the page number,
    first_page = 1                  #       counted from first_page; a page with fewer than
    page_size = 100                 #       page_size items is the last
    page_size_param = "limit"       # send page_size as this parameter ("" = do not send it)
    params = { status = "done" }    # fixed query parameters
    token_env = "POSTMART_API_TOKEN"   # the token's environment variable (never the token itself)
    auth_header = "Authorization"   # sent as "<auth_scheme> <token>"
    auth_scheme = "Bearer"
    token_param = ""                # or send the token as this query parameter ("access_token")
    default_kind = "first_purchase"
    fields = { external_id = "order_id", occurred_at = "paid_at", phone = "buyer.phone" }
    timeout = 30.0                  # seconds per request
    max_attempts = 5                # per page: 5xx, 429 and network errors are retried …
    backoff = 1.0                   # … after backoff × 2^(attempt-1) seconds, at most max_backoff,
    max_backoff = 60.0              #     or the answer's Retry-After (at most max_retry_after)
    max_retry_after = 300.0
    rate_limit = 2.0                # at most this many requests per second (0 = no limit)
    max_pages = 1000                # pages per run at most; the next run continues from there
    max_answer_bytes = 52428800     # an answer larger than this (50 MB) stops the run

A page whose items are the same as a page already read in this run (a server ignoring
the cursor or page parameter) stops the run with a ``DataError`` naming both pages.

The position stored with each page is ``{"cursor": <the page to ask next>, "skip": <its
items already stored>}``; it is written in the same transaction as the page's events.
After the last page it names that page and how many of its items are stored, so the
next run asks for it again and takes only what was added since.  A crash therefore
never skips nor doubles a page.

Waits (rate limit, backoff, Retry-After) go through the injected clock's ``sleep``;
``read`` runs its own event loop, so call ``ingest`` from synchronous code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal, Self

import attrs
import httpx

from langson_comms import hookimpl
from langson_comms.clock import Clock, timestamp_of
from langson_comms.config import NOT_A_KEY, ConfigContext, at_least, config_keys
from langson_comms.errors import ConfigError, DataError, GatewayError
from langson_comms.signups import Batch, Rejection, SignupEvent, SignupSource, source_key
from langson_comms.signups.event import kind_name
from langson_comms.signups.json_items import EVENT_FIELDS, MISSING, item_event, json_path, json_type
from langson_comms.sms.gateway import parse_retry_after
from langson_comms.sms.numbers import NumberNormalizer

__all__ = ["HttpPollSource", "register_signup_sources"]

logger = logging.getLogger(__name__)

_RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})


@attrs.frozen
class HttpPollSource(SignupSource):
    """Sign-ups paged from a JSON API (see the module docstring for the keys)."""

    name: ClassVar[str] = "http_poll"

    url: str
    items: str = "items"
    pagination: Literal["cursor", "page"] = "cursor"
    cursor_param: str = "cursor"
    next_cursor: str = "next_cursor"
    page_param: str = "page"
    first_page: int = attrs.field(default=1, validator=at_least(0))
    page_size: int = attrs.field(default=100, validator=at_least(1))
    page_size_param: str = ""
    params: dict[str, str] = attrs.field(factory=dict)
    token_env: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    token_param: str = ""
    fields: dict[str, str] = attrs.field(factory=dict)
    default_kind: str | None = None
    timeout: float = 30.0
    max_attempts: int = attrs.field(default=5, validator=at_least(1))
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    rate_limit: float = 0.0
    max_pages: int = attrs.field(default=1000, validator=at_least(1))
    max_answer_bytes: int = attrs.field(default=50 * 1024 * 1024, validator=at_least(1024))
    #: an httpx transport for tests or a host program (set with ``with_transport``, not a key)
    transport: Any = attrs.field(default=None, kw_only=True, repr=False, eq=False, metadata={NOT_A_KEY: True})
    #: the host's httpx client (set with ``with_http_client``, not a key): used, never closed
    http_client: Any = attrs.field(default=None, kw_only=True, repr=False, eq=False, metadata={NOT_A_KEY: True})
    #: the environment the token is read from (default ``os.environ``; not a key)
    environ: Any = attrs.field(default=None, kw_only=True, repr=False, eq=False, metadata={NOT_A_KEY: True})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        for forbidden in ("key", "transport", "environ", "http_client"):
            if forbidden in config:
                raise context.error(f"unknown key (expected one of: {', '.join(config_keys(cls))})", forbidden)
        for clear in ("token", "secret", "password", "api_key"):
            if clear in config:
                raise context.error("a token never goes in the campaign file: name its environment "
                                    "variable with token_env", clear)
        built = context.structure({**config, "key": source_key(context)}, cls)
        if not built.url.startswith(("http://", "https://")):
            raise context.error(f"{built.url!r} is not an http(s) URL", "url")
        _refuse_credentials(built, context)
        for field in built.fields:
            if field not in EVENT_FIELDS:
                raise context.error(f"{field!r} is not an event field (expected one of: {', '.join(EVENT_FIELDS)})",
                                    f"fields.{field}")
        if built.default_kind is not None:
            try:
                kind_name(built.default_kind)
            except ValueError as exc:
                raise context.error(str(exc), "default_kind") from None
        for name in ("timeout", "backoff", "max_backoff", "max_retry_after", "rate_limit"):
            if getattr(built, name) < 0 or (name == "timeout" and built.timeout == 0):
                raise context.error(f"{getattr(built, name)!r} is out of range (expected a positive number)", name)
        return built

    def with_transport(self, transport: httpx.AsyncBaseTransport | None) -> Self:
        """A copy sending its requests through ``transport``."""
        return attrs.evolve(self, transport=transport)

    def with_http_client(self, client: httpx.AsyncClient) -> Self:
        """A copy paging through the host's ``client`` (its headers and transport; this
        source's token, parameters and timeout are added per request); never closed here.
        The pages are read on an event loop of ``read``'s own, so its requests ask for
        ``Connection: close``: no connection of that loop is left in the client's pool."""
        return attrs.evolve(self, http_client=client)

    # -- reading ---------------------------------------------------------------------------

    def _start(self) -> dict[str, Any]:
        return {"cursor": None if self.pagination == "cursor" else self.first_page, "skip": 0}

    def _token(self) -> str | None:
        if self.token_env is None:
            return None
        env = os.environ if self.environ is None else self.environ
        token = env.get(self.token_env)
        if not token:
            raise ConfigError(f"environment variable {self.token_env} is not set (the API token)",
                              key=f"signups.{self.key}.token_env")
        return str(token)

    def _headers(self) -> dict[str, str]:
        token = self._token()
        if token is None or self.token_param:
            return {}
        return {self.auth_header: f"{self.auth_scheme} {token}".strip()}

    def _auth_params(self) -> dict[str, str]:
        token = self._token() if self.token_param else None
        return {} if token is None else {self.token_param: token}

    def _params(self, cursor: Any) -> dict[str, str]:
        params = dict(self.params)
        if self.page_size_param:
            params[self.page_size_param] = str(self.page_size)
        if cursor is not None:
            params[self.cursor_param if self.pagination == "cursor" else self.page_param] = str(cursor)
        return params

    def read(self, position: str | None, *, clock: Clock) -> Iterator[Batch]:
        state = self._start() if position is None else json.loads(position)
        cursor, skip = state["cursor"], int(state["skip"])
        headers = self._headers()
        if self.http_client is not None:
            # pages are read on an event loop of this call's own: a kept-alive connection
            # would outlive it in the host's pool (unusable, and failing the host's aclose)
            headers["Connection"] = "close"
        pacer = _Pacer(self.rate_limit, clock)
        pages = 0
        followed = {cursor}  # a cursor asked again in this run is a loop: the last page
        seen: dict[str, str] = {}  # the hash of each page's items read in this run → its label
        with asyncio.Runner() as runner:
            own = self.http_client is None  # the host's client is the host's to close
            client = (httpx.AsyncClient(transport=self.transport, timeout=self.timeout)
                      if own else self.http_client)
            try:
                while True:
                    if pages == self.max_pages:
                        logger.warning("signups.%s: stopped after max_pages = %d pages; the next run "
                                       "continues from there", self.key, self.max_pages)
                        return
                    answer = runner.run(self._fetch(client, cursor, clock, pacer, headers))
                    pages += 1
                    label = "first" if cursor is None else str(cursor)
                    items = json_path(answer, self.items)
                    if not isinstance(items, list):
                        found = "nothing" if items is MISSING else json_type(items)
                        raise DataError(f"expected the list of items at {self.items or '(the answer)'!r}, "
                                        f"found {found}", source=f"{self.url} (page {label})")
                    self._refuse_repeat(items, label, seen)
                    following = self._following(answer, cursor, items, label)
                    if following in followed:
                        following = None
                    yield self._batch(items, skip, label, cursor, following)
                    if following is None:
                        return
                    followed.add(following)
                    cursor, skip = following, 0
            finally:
                if own:
                    runner.run(client.aclose())

    def _where(self, label: str) -> str:
        """``signups.<key> <url> (page <label>)``, the URL without credentials or query."""
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return f"signups.{self.key} {urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, '', ''))} " \
               f"(page {label})"

    def _refuse_repeat(self, items: list[Any], label: str, seen: dict[str, str]) -> None:
        """A page with the same items as one already read in this run: the server ignores
        the cursor or page parameter, and following it would never end."""
        if not items:
            return
        digest = hashlib.sha256(json.dumps(items, sort_keys=True, ensure_ascii=False,
                                           default=str).encode("utf-8", "surrogatepass")).hexdigest()
        if digest in seen:
            param = self.cursor_param if self.pagination == "cursor" else self.page_param
            raise DataError(f"repeats page {seen[digest]} (the same {len(items)} items): the server seems to "
                            f"ignore the {param!r} parameter (check cursor_param, page_param, pagination); "
                            "stopped, the pages before it are stored", source=self._where(label))
        seen[digest] = label

    def _following(self, answer: Any, cursor: Any, items: list[Any], label: str) -> Any:
        """The cursor of the next page, ``None`` when this page is the last."""
        if self.pagination == "page":
            return int(cursor) + 1 if len(items) >= self.page_size else None
        nxt = json_path(answer, self.next_cursor)
        if nxt is MISSING or nxt is None or nxt == "" or nxt == cursor:
            return None
        if not isinstance(nxt, str | int) or isinstance(nxt, bool):
            raise DataError(f"the next cursor at {self.next_cursor!r} is {json_type(nxt)}, expected a string "
                            "or an integer", source=f"{self.url} (page {label})")
        return nxt

    def _batch(self, items: list[Any], skip: int, label: str, cursor: Any, following: Any) -> Batch:
        normalizer = NumberNormalizer()
        events: list[SignupEvent] = []
        rejections: list[Rejection] = []
        for index in range(skip, len(items)):
            where = f"{self.key}:page {label}[{index}]"
            found = item_event(items[index], fields=self.fields, platform=self.platform,
                               default_kind=self.default_kind, source=where, normalizer=normalizer)
            if isinstance(found, SignupEvent):
                events.append(found)
            else:
                path, reason = found
                rejections.append(Rejection(where=where, reason=reason, column=path or None))
        after = ({"cursor": cursor, "skip": max(skip, len(items))} if following is None
                 else {"cursor": following, "skip": 0})
        return Batch(events=tuple(events), rejections=tuple(rejections), position=json.dumps(after))

    async def _fetch(self, client: httpx.AsyncClient, cursor: Any, clock: Clock, pacer: _Pacer,
                     headers: Mapping[str, str]) -> Any:
        label = "first" if cursor is None else str(cursor)
        gateway = f"signups.{self.key}"
        last = ""
        status: int | None = None
        for attempt in range(1, self.max_attempts + 1):
            await pacer.wait()
            retry_after: float | None = None
            try:
                response, body = await self._get(client, cursor, label, headers)
            except httpx.HTTPError as exc:
                last, status = f"{type(exc).__name__}", None
            else:
                status = response.status_code
                if response.is_success:
                    try:
                        return json.loads(body)
                    except (ValueError, RecursionError) as exc:
                        raise DataError(f"the answer is not JSON ({type(exc).__name__})",
                                        source=f"{self.url} (page {label})") from None
                if status not in _RETRIED:
                    raise GatewayError(f"page {label}: HTTP {status} (not retried; check url, params and token)",
                                       gateway=gateway, status=status)
                last = f"HTTP {status}"
                retry_after = parse_retry_after(response.headers.get("retry-after"),
                                                now=timestamp_of(clock)())
            if attempt == self.max_attempts:
                break
            delay = (min(retry_after, self.max_retry_after) if retry_after is not None
                     else min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
            await clock.sleep(delay)
        raise GatewayError(f"page {label}: gave up after {self.max_attempts} attempts (last: {last}); "
                           "the pages before it are stored, run again to resume", gateway=gateway, status=status)

    async def _get(self, client: httpx.AsyncClient, cursor: Any, label: str,
                   headers: Mapping[str, str]) -> tuple[httpx.Response, bytes]:
        """GET one page, reading at most ``max_answer_bytes`` of its (decoded) body: a larger
        answer is a ``DataError`` before more of it is read.  Only a success's body is read."""
        cap = self.max_answer_bytes
        too_big = (f"the answer is larger than {cap} bytes (max_answer_bytes); ask for smaller pages "
                   "(page_size) or raise max_answer_bytes")
        async with client.stream("GET", self.url, params={**self._params(cursor), **self._auth_params()},
                                 headers=headers, timeout=self.timeout) as response:
            if not response.is_success:
                return response, b""
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise DataError(too_big, source=self._where(label))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise DataError(too_big, source=self._where(label))
                chunks.append(chunk)
            return response, b"".join(chunks)


class _Pacer:
    """At most ``rate`` requests per second, waiting on the injected clock."""

    def __init__(self, rate: float, clock: Clock) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._now = timestamp_of(clock)
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        delay = self._next - self._now()
        if delay > 0:
            await self._clock.sleep(delay)
        self._next = self._now() + self._interval


_CREDENTIAL_NAMES = frozenset({
    "token", "access_token", "accesstoken", "auth_token", "api_key", "apikey", "key", "secret",
    "client_secret", "password", "passwd", "pwd", "auth", "authorization", "signature", "sig",
})


def _is_credential(name: str) -> bool:
    plain = name.strip().lower().replace("-", "_")
    return plain in _CREDENTIAL_NAMES or plain.endswith(("_token", "_secret", "_password", "_apikey", "_api_key"))


def _refuse_credentials(source: HttpPollSource, context: ConfigContext) -> None:
    """A credential in the URL or ``params`` would sit in the campaign file in clear and be
    shown in every located error naming the URL: refuse it, never quoting it."""
    advice = ("a credential never goes in the campaign file: name its environment variable with "
              "token_env (sent as a header, or as a query parameter with token_param)")
    parts = urllib.parse.urlsplit(source.url)
    if parts.username is not None or parts.password is not None:
        raise context.error(f"the URL carries user:password@ ({advice})", "url")
    for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if _is_credential(name):
            raise context.error(f"the URL's query has {name!r} ({advice})", "url")
    for name in source.params:
        if _is_credential(name):
            raise context.error(advice, f"params.{name}")
    if source.token_param and source.token_env is None:
        raise context.error("token_param needs token_env (the variable holding the token)", "token_param")


@hookimpl
def register_signup_sources() -> list[type[Any]]:
    return [HttpPollSource]
