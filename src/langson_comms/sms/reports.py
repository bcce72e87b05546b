"""Delivery reports: the carrier's final word, by HTTP callback or by polling.

``ReportReceiver`` is the callback endpoint (the CLI serves it with ``sms
serve-reports`` or alongside ``sms send --serve-reports``): ``POST <path>/<gateway id>``
for each gateway, read with that gateway's report format, and ``POST <path>`` (the bare
path) for a single gateway or when the gateway is not known.  Carrier ids are only
unique per gateway, so the path tells the ledger whose id a report names.  A report is
acknowledged with 200 only after the ledger committed it, so a carrier that retries on
failure never loses one.  ``ReportPoller`` asks gateways that offer polling (it knows
the gateway it asked).

No open door: the receiver does not serve without a non-empty ``token`` (the exact
``Authorization`` value callbacks send, compared in constant time) unless it is told
``insecure=True`` on a loopback address; a request holds at most ``max_reports``
reports in at most ``max_body_bytes`` bytes (413 beyond), is recorded in chunks of
``chunk_size`` reports that let other callers be answered in between, and anything
malformed is a 400 naming where and what -- never a 500, never an echo of a secret.

Both hand reports to ``LedgerStore.record_reports``, which is replay-safe (a report seen
twice changes nothing), applies multipart reports (delivered when every part is,
failed when any part failed) and keeps a report that arrives before the submit answer
until the acceptance is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from ..clock import Clock, SystemClock
from ..errors import ConfigError, GatewayError
from ..http_serving import BodyProblem, QuietAppRunner, is_loopback, parse_json
from ..scrub import Scrubber, clean_secret
from .gateway import SmsGateway
from .http_gateway import ReportFormat, parse_reports
from .ledger import LedgerStore

__all__ = ["ReportPoller", "ReportReceiver"]

log = logging.getLogger(__name__)

_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

#: defaults of ``[channels.sms.reports]`` max_reports and max_body_kb
MAX_REPORTS = 2000
MAX_BODY_BYTES = 1024 * 1024
CHUNK_SIZE = 500


class ReportReceiver:
    """An HTTP endpoint on 127.0.0.1 (by default) that records delivery reports.

    ``formats`` maps gateway ids to their report formats: each gets ``<path>/<id>``.
    The bare ``path`` records reports as coming from ``gateway`` (``None``: not known,
    they may match any gateway's rows) read with ``fmt`` (default: ``gateway``'s format,
    else the simulator's).

    ``token`` is required (``ConfigError`` without one) unless ``insecure`` is true and
    ``host`` is a loopback address; ``scrubber`` (default: one for the token) clears
    configured secrets from error bodies.
    """

    def __init__(
        self,
        ledger: LedgerStore,
        *,
        fmt: ReportFormat | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/dlr",
        clock: Clock | None = None,
        token: str | None = None,
        formats: Mapping[str, ReportFormat] | None = None,
        gateway: str | None = None,
        insecure: bool = False,
        max_reports: int = MAX_REPORTS,
        max_body_bytes: int = MAX_BODY_BYTES,
        chunk_size: int = CHUNK_SIZE,
        scrubber: Scrubber | None = None,
    ) -> None:
        if token is not None:
            try:
                token = clean_secret(token)
            except ValueError as exc:
                if str(exc) != "is empty":
                    raise ConfigError(f"the delivery-report token {exc}") from None
                token = None
        if token is None and not insecure:
            raise ConfigError(
                "the delivery-report endpoint needs a token (set [channels.sms.reports] "
                "token_env to a variable holding the Authorization value callbacks send); "
                "to test without one on a loopback address, use --insecure")
        if token is None and not is_loopback(host):
            raise ConfigError(
                f"refusing to serve delivery reports on {host} without a token: insecure "
                "serving is only allowed on a loopback address (127.0.0.1, ::1, localhost)")
        if min(max_reports, max_body_bytes, chunk_size) < 1:
            raise ConfigError("max_reports, max_body_bytes and chunk_size must be positive")
        self.max_reports = max_reports
        self.max_body_bytes = max_body_bytes
        self.chunk_size = chunk_size
        self.scrubber = Scrubber.of([token, *(token or "").split()[-1:]]) + (
            scrubber or Scrubber())
        self.ledger = ledger
        self.formats = dict(formats or {})
        self.gateway = gateway
        self.fmt = fmt or self.formats.get(gateway or "") or ReportFormat()
        self.host = host
        self.port = port
        self.path = "/" + path.strip("/")
        self.clock = clock or SystemClock()
        self.token = token
        self.counters: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The bare path (a single gateway, or gateway not known)."""
        return f"http://{self.host}:{self.port}{self.path}"

    def url_for(self, gateway: str) -> str:
        """The path for one gateway's reports."""
        return f"{self.url.rstrip('/')}/{gateway}"

    def _authorised(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   self.token.encode("utf-8"))

    def _refuse(self, status: int, text: str, counter: str = "rejected") -> web.Response:
        self.counters[counter] += 1
        return web.json_response({"error": self.scrubber.scrub(text)}, status=status)

    async def _body(self, request: web.Request) -> tuple[Any, str]:
        """The request's reports as parsed JSON (or one form/query report), and its
        source name for located errors."""
        if request.method == "GET":
            return dict(request.query), "query"
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise _TooLarge(self._size_text())
        try:
            if request.content_type in _FORMS:
                try:
                    form = await request.post()
                except (UnicodeDecodeError, ValueError) as exc:
                    raise BodyProblem(f"the form body cannot be read ({type(exc).__name__})"
                                      ) from None
                if any(not isinstance(v, str) for v in form.values()):
                    raise BodyProblem("form fields must be text, not files")
                return dict(form), "body"
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise _TooLarge(self._size_text()) from None
        return parse_json(raw), "body"

    def _size_text(self) -> str:
        return (f"the body is larger than {self.max_body_bytes:,} bytes "
                f"(reports.max_body_kb); send fewer reports per request")

    async def _handle(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._refuse(401, "bad credentials", "unauthorised")
        gateway_id = request.match_info.get("gateway")
        if gateway_id is None:
            gateway, fmt = self.gateway, self.fmt
        elif gateway_id in self.formats:
            gateway, fmt = gateway_id, self.formats[gateway_id]
        else:
            self.counters["unknown_gateway"] += 1
            return web.json_response({"error": f"no gateway {gateway_id!r} here"}, status=404)
        ignored: Counter[str] = Counter()
        try:
            # JSON in the body, or one report as a form or query string (vendors such
            # as eSMS call a callback URL with GET and query parameters)
            body, source = await self._body(request)
            items = body.get(fmt.list_key) if isinstance(body, Mapping) else body
            if isinstance(items, list) and len(items) > self.max_reports:
                raise _TooLarge(f"{len(items):,} reports in one request; at most "
                                f"{self.max_reports:,} reports (reports.max_reports)")
            reports = parse_reports(body, fmt, source=source, ignored=ignored)
        except _TooLarge as exc:
            return self._refuse(413, str(exc))
        except ValueError as exc:  # BodyProblem too
            return self._refuse(400, str(exc))
        if ignored:
            self.counters["ignored"] += ignored.total()
        new = 0
        for start in range(0, len(reports), self.chunk_size):
            if start:  # let other callers be answered between chunks
                await asyncio.sleep(0)
            new += self.ledger.record_reports(reports[start:start + self.chunk_size],
                                              self.clock.now().timestamp(), gateway=gateway)
        self.counters["received"] += len(reports)
        self.counters["new"] += new
        self.counters["replayed"] += len(reports) - new
        return web.json_response({"received": len(reports), "new": new})

    async def start(self) -> ReportReceiver:
        app = web.Application(client_max_size=self.max_body_bytes)
        for route in (self.path, self.path.rstrip("/") + "/{gateway}"):
            app.router.add_post(route, self._handle)
            app.router.add_get(route, self._handle)
        self._runner = QuietAppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ReportReceiver:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class _TooLarge(Exception):
    """A request over the receiver's caps (answered 413)."""


class ReportPoller:
    """Polls gateways with ``supports_polling`` every ``interval`` seconds until stopped.

    Each poll asks every gateway again while it answers with reports (a server hands out
    one page per request), at most ``max_pages`` times.  A poll that fails -- a gateway
    error, or anything else a plugin raises -- is logged and counted (``errors``); the
    poller goes on with the other gateways and the next interval.
    """

    def __init__(
        self,
        ledger: LedgerStore,
        gateways: Sequence[SmsGateway],
        *,
        interval: float = 1.0,
        clock: Clock | None = None,
        max_pages: int = 100,
    ) -> None:
        self.ledger = ledger
        self.gateways = [g for g in gateways if g.capabilities.supports_polling]
        self.interval = interval
        self.clock = clock or SystemClock()
        self.max_pages = max_pages
        self.counters: Counter[str] = Counter()

    async def _poll_gateway(self, gateway: SmsGateway) -> int:
        new = 0
        for _ in range(self.max_pages):
            reports = await gateway.poll_reports()
            if not reports:
                break
            self.counters["pages"] += 1
            new += self.ledger.record_reports(reports, self.clock.now().timestamp(),
                                              gateway=gateway.gateway_id)
            self.counters["received"] += len(reports)
        return new

    async def poll_once(self) -> int:
        new = 0
        for gateway in self.gateways:
            try:
                new += await self._poll_gateway(gateway)
            except GatewayError as exc:
                self.counters["errors"] += 1
                log.warning("polling %s failed: %s", gateway.gateway_id, exc)
            except Exception:  # a plugin bug or a ledger failure: the poller goes on
                self.counters["errors"] += 1
                log.exception("polling %s failed", gateway.gateway_id)
        self.counters["new"] += new
        return new

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        await self.poll_once()
