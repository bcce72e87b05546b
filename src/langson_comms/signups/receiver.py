"""The sign-up receiver: an aiohttp server taking signed webhook requests into the store.

``serve_receiver(campaign, "voso_hook", store, clock=…)`` runs it until SIGINT/SIGTERM
(``signups serve`` calls exactly this); ``run_receiver`` is the same as a coroutine, and
``SignupReceiver(...).app()`` the bare ``aiohttp`` application for a host program.

It serves one receiving source (``ReceivingSource``, such as the built-in ``webhook``)
at ``POST /signups/<SOURCE_KEY>`` and, for every request, in this order:

1. a body that has not fully arrived ``read_timeout`` seconds after the headers → **408**
   (the connection is closed);
   a body larger than the source's ``max_body`` → **413** (nothing read beyond the cap;
   a gzip or deflate body counts decompressed);
   a ``Content-Encoding`` other than ``gzip``/``deflate``/``identity``, or a
   ``Content-Type`` that is not JSON (a form, multipart; a charset other than UTF-8) →
   **415**; a body that does not decompress → **400**;
2. ``X-Langson-Timestamp`` / ``X-Langson-Signature`` missing, malformed, more than
   ``tolerance`` seconds old or ahead, or not the HMAC of the body → **401**;
3. a body that is not UTF-8 JSON, too deep, not one event object or an array of them, or
   an event with a missing or wrong-typed field → **400** naming where (``$[3].phone``)
   and what was expected; nothing of the request is stored;
4. a signature already stored (a replay) → **409**, nothing stored again;
5. the events and the signature are stored in one transaction (``SignupStore.store_requests``;
   requests arriving while a transaction runs share the next one: a group commit);
   only then **200** ``{"accepted": n, "duplicates": d}``.  A store failure → **503**
   (nothing stored; the sender should retry).

The secret is read once at start (from the environment or a file, never the campaign
file), kept out of every ``repr`` and log line, and compared in constant time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from ..clock import Clock, timestamp_of
from ..errors import ConfigError, LedgerError
from .ingest import SignupRecorder, make_pseudonymizer, signups_plan
from .signature import TOLERANCE_SECONDS, SignatureRefused, verify
from .source import Batch, SignupSource
from .store import BatchResult, SignupStore, StoredRequest

if TYPE_CHECKING:
    from ..campaign import Campaign

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GroupCommit",
    "ReceivingSource",
    "RequestRefused",
    "SignupReceiver",
    "parse_json_body",
    "run_receiver",
    "serve_receiver",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787

logger = logging.getLogger(__name__)


class RequestRefused(Exception):
    """A request the receiver answers with ``status`` (4xx) and ``problems`` (where, what)."""

    def __init__(self, status: int, message: str, problems: tuple[tuple[str, str], ...] = ()) -> None:
        self.status = status
        self.message = message
        self.problems = problems
        super().__init__(message)


@attrs.frozen
class ReceivingSource(SignupSource):
    """Base class of sources that receive (``polling = False``): ``signups serve`` runs them.

    A subclass says how big a body may be (``max_body``), how old a timestamp
    (``tolerance``), where its secret is (``secret``) and how a verified body becomes a
    ``Batch`` (``parse``, raising ``RequestRefused(400, …)`` for a bad one).
    """

    polling: ClassVar[bool] = False

    @property
    def body_limit(self) -> int:
        """The largest body accepted, in bytes."""
        return 1 << 20

    @property
    def timestamp_tolerance(self) -> float:
        """How far (seconds) a request's timestamp may be from the receiver's clock."""
        return TOLERANCE_SECONDS

    @property
    def body_timeout(self) -> float:
        """How long (seconds) the body may take to arrive once the headers are in."""
        return 30.0

    def secret(self, env: Mapping[str, str]) -> bytes:
        """The shared secret; ``ConfigError`` naming the variable or file when unusable."""
        raise NotImplementedError

    def parse(self, body: bytes, request_id: str) -> Batch:
        """The events of a verified body; ``RequestRefused(400, …)`` when it is not acceptable."""
        raise NotImplementedError


class GroupCommit:
    """Stores received requests; those arriving while a transaction runs go in the next one.

    ``submit`` returns once the request's transaction has committed (durable), with its
    ``BatchResult``, ``None`` for a replay, or raises ``LedgerError``.
    """

    def __init__(self, store: SignupStore, source_key: str, now: Callable[[], float], *,
                 max_group: int = 500) -> None:
        self._store = store
        self._key = source_key
        self._now = now
        self._max = max_group
        self._pending: list[tuple[StoredRequest, asyncio.Future[BatchResult | None]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, request: StoredRequest) -> BatchResult | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[BatchResult | None] = loop.create_future()
        self._pending.append((request, future))
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(self._wakeup))
        return await future

    async def _run(self, wakeup: asyncio.Event) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            while self._pending:
                group, self._pending = self._pending[: self._max], self._pending[self._max:]
                try:
                    results = self._store.store_requests(self._key, [r for r, _ in group], self._now())
                except Exception as exc:  # every waiting handler gets an answer, whatever failed
                    error = exc if isinstance(exc, LedgerError) else LedgerError(
                        f"the store failed: {type(exc).__name__}: {exc}")
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                else:
                    for (_, future), result in zip(group, results, strict=True):
                        if not future.done():
                            future.set_result(result)
                await asyncio.sleep(0)  # let the handlers whose bodies arrived meanwhile join the next group

    async def close(self) -> None:
        """Stop once every submitted request is stored."""
        if self._task is None:
            return
        while self._pending and not self._task.done():
            await asyncio.sleep(0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _answer(status: int, payload: Mapping[str, Any]) -> web.Response:
    return web.json_response(dict(payload), status=status)


class SignupReceiver:
    """Verifies, parses and stores the requests of one receiving source."""

    def __init__(self, campaign: Campaign, source: ReceivingSource, store: SignupStore, *,
                 clock: Clock, env: Mapping[str, str] | None = None) -> None:
        environ = os.environ if env is None else env
        plan = signups_plan(campaign)
        self.source = source
        self.store = store
        self._secret = source.secret(environ)
        self._recorder = SignupRecorder(campaign, store, clock=clock,
                                        pseudonymizer=make_pseudonymizer(plan.settings, environ, campaign.source))
        self._now = timestamp_of(clock)
        self._commits = GroupCommit(store, source.key, self._now)
        #: answers given, by HTTP status
        self.answers: dict[int, int] = {}

    def __repr__(self) -> str:  # never the secret
        return f"SignupReceiver(source={self.source.key!r})"

    @property
    def path(self) -> str:
        return f"/signups/{self.source.key}"

    def app(self) -> web.Application:
        """The aiohttp application serving ``POST /signups/<key>``."""
        app = web.Application(client_max_size=self.source.body_limit)
        app.router.add_post(self.path, self.handle)

        async def finish(_: web.Application) -> None:
            await self._commits.close()

        app.on_cleanup.append(finish)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._handle(request)
        self.answers[response.status] = self.answers.get(response.status, 0) + 1
        return response

    async def _handle(self, request: web.Request) -> web.Response:
        source = self.source
        limit = source.body_limit
        if request.content_length is not None and request.content_length > limit:
            return self._refuse(RequestRefused(413, f"the body is {request.content_length} bytes (at most {limit})"))
        unreadable = _unreadable(request)
        if unreadable is not None:
            return self._refuse(unreadable)
        try:
            body = await asyncio.wait_for(request.read(), source.body_timeout)
        except TimeoutError:
            return self._refuse(RequestRefused(408, f"the body did not arrive within {source.body_timeout:g} s"),
                                close=True)
        except web.HTTPRequestEntityTooLarge:
            return self._refuse(RequestRefused(413, f"the body is larger than {limit} bytes"))
        except RequestPayloadError:
            encoding = request.headers.get("Content-Encoding", "")
            return self._refuse(RequestRefused(400, f"the body could not be read as Content-Encoding {encoding!r}"
                                               if encoding else "the body could not be read"))
        now = self._now()
        try:
            timestamp, signature = verify(self._secret, request.headers, body, now=now,
                                          tolerance=source.timestamp_tolerance)
        except SignatureRefused as exc:
            return self._refuse(RequestRefused(401, str(exc)))
        try:
            batch = source.parse(body, signature[:16])
        except RequestRefused as exc:
            return self._refuse(exc)
        stored = StoredRequest(key=signature, expires_at=timestamp + source.timestamp_tolerance + 1,
                                signups=self._recorder.rows(batch), rejections=batch.rejections)
        try:
            result = await self._commits.submit(stored)
        except LedgerError as exc:
            logger.error("signups.%s: cannot store request %s: %s", source.key, signature[:16], exc)
            return _answer(503, {"error": "the store failed; nothing was stored, send the request again"})
        if result is None:
            return self._refuse(RequestRefused(409, "this request was already received (same signature)"))
        return _answer(200, {"accepted": result.accepted, "duplicates": result.duplicates,
                             "request": signature[:16]})

    def _refuse(self, refusal: RequestRefused, *, close: bool = False) -> web.Response:
        logger.info("signups.%s: refused (%d): %s", self.source.key, refusal.status, refusal.message)
        payload: dict[str, Any] = {"error": refusal.message}
        if refusal.problems:
            payload["problems"] = [{"where": w, "reason": r} for w, r in refusal.problems]
        answer = _answer(refusal.status, payload)
        if close:  # the rest of the body may still come: do not read it as the next request
            answer.force_close()
        return answer


#: Content-Encoding values whose bodies aiohttp decompresses (the signature covers the result)
_ENCODINGS = frozenset({"", "identity", "gzip", "x-gzip", "deflate"})
#: Content-Type media types read as the JSON body (senders often leave octet-stream or text)
_MEDIA_TYPES = frozenset({"application/json", "application/octet-stream", "text/plain", "text/json"})


def _unreadable(request: web.Request) -> RequestRefused | None:
    """A 415 for a body the receiver would not read as sent: an encoding it does not
    decompress, or a content type that is not the JSON itself (a form, multipart)."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in _ENCODINGS:
        return RequestRefused(415, f"Content-Encoding {encoding!r} is not accepted (expected gzip, deflate or "
                              "none; the signature covers the decompressed body)")
    if "Content-Type" not in request.headers:
        return None
    media = request.content_type.lower()
    charset = (request.charset or "utf-8").lower().replace("_", "-")
    if not (media in _MEDIA_TYPES or media.endswith("+json")) or charset not in ("utf-8", "utf8"):
        shown = request.headers["Content-Type"][:100]
        return RequestRefused(415, f"Content-Type {shown!r} is not accepted (expected application/json, "
                              "UTF-8: the body is one event object or an array of them)")
    return None


def _receiving_source(campaign: Campaign, key: str) -> ReceivingSource:
    plan = signups_plan(campaign)
    source = plan.sources.get(key)
    if source is None:
        raise ConfigError(f"no sign-up source {key!r} (known: {', '.join(sorted(plan.sources)) or 'none'})",
                          source=campaign.source, key="signups")
    if not isinstance(source, ReceivingSource):
        raise ConfigError(f"source {key!r} (kind {source.name!r}) does not receive requests; "
                          "run it with 'signups ingest'", source=campaign.source, key=f"signups.{key}")
    return source


async def run_receiver(campaign: Campaign, key: str, store: SignupStore, *, clock: Clock,
                       host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                       env: Mapping[str, str] | None = None, stop: asyncio.Event | None = None,
                       ready: Callable[[str], None] | None = None) -> SignupReceiver:
    """Serve source ``key`` until ``stop`` is set; ``ready(url)`` once listening.

    ``port=0`` picks a free port (the URL passed to ``ready`` tells which).  Raises
    ``ConfigError`` for an unknown key, a polling source or an unusable secret.
    """
    receiver = SignupReceiver(campaign, _receiving_source(campaign, key), store, clock=clock, env=env)
    runner = web.AppRunner(receiver.app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                              key=f"signups.{key}") from exc
        bound = runner.addresses[0]
        url = f"http://{host if ':' not in host else '[' + host + ']'}:{bound[1]}{receiver.path}"
        if ready is not None:
            ready(url)
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
    return receiver


def serve_receiver(campaign: Campaign, key: str, store: SignupStore, *, clock: Clock,
                   host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                   env: Mapping[str, str] | None = None,
                   ready: Callable[[str], None] | None = None) -> SignupReceiver:
    """Run ``run_receiver`` until SIGINT or SIGTERM; return the receiver (its ``answers``)."""

    async def main() -> SignupReceiver:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_receiver(campaign, key, store, clock=clock, host=host, port=port, env=env,
                                  stop=stop, ready=ready)

    return asyncio.run(main())


def parse_json_body(body: bytes) -> Any:
    """Decode a request body as JSON; ``RequestRefused(400)`` saying where it is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefused(400, f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestRefused(400, f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                             (("$", f"line {exc.lineno}, column {exc.colno}: {exc.msg}"),)) from None
    except RecursionError:
        raise RequestRefused(400, "the body is nested too deeply (expected one event object or an array of them)",
                             (("$", "nested too deeply"),)) from None
    except ValueError as exc:  # a number beyond Python's 4300-digit conversion limit
        raise RequestRefused(400, f"the body is not JSON the receiver can read: {exc}",
                             (("$", "a number too long to read"),)) from None
