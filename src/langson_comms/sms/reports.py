"""Delivery reports: the carrier's final word, by HTTP callback or by polling.

``ReportReceiver`` is the callback endpoint (the CLI serves it with ``sms
serve-reports`` or alongside ``sms send --serve-reports``): ``POST <path>/<gateway id>``
for each gateway, read with that gateway's report format, and ``POST <path>`` (the bare
path) for a single gateway or when the gateway is not known.  Carrier ids are only
unique per gateway, so the path tells the ledger whose id a report names.  A report is
acknowledged with 200 only after the ledger committed it, so a carrier that retries on
failure never loses one.  ``ReportPoller`` asks gateways that offer polling (it knows
the gateway it asked).

Both hand reports to ``LedgerStore.record_reports``, which is replay-safe (a report seen
twice changes nothing), applies multipart reports (delivered when every part is,
failed when any part failed) and keeps a report that arrives before the submit answer
until the acceptance is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from ..clock import Clock, SystemClock
from ..errors import GatewayError
from .gateway import SmsGateway
from .http_gateway import ReportFormat, parse_reports
from .ledger import LedgerStore

__all__ = ["ReportPoller", "ReportReceiver"]

log = logging.getLogger(__name__)

_FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class ReportReceiver:
    """An HTTP endpoint on 127.0.0.1 (by default) that records delivery reports.

    ``formats`` maps gateway ids to their report formats: each gets ``<path>/<id>``.
    The bare ``path`` records reports as coming from ``gateway`` (``None``: not known,
    they may match any gateway's rows) read with ``fmt`` (default: ``gateway``'s format,
    else the simulator's).
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
    ) -> None:
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

    async def _handle(self, request: web.Request) -> web.Response:
        if self.token is not None and request.headers.get("Authorization") != self.token:
            self.counters["unauthorised"] += 1
            return web.json_response({"error": "bad credentials"}, status=401)
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
            if request.method == "GET":
                body: Any = dict(request.query)
            elif request.content_type in _FORMS:
                body = dict(await request.post())
            else:
                body = await request.json()
            reports = parse_reports(body, fmt, source="query" if request.method == "GET"
                                    else "body", ignored=ignored)
        except (json.JSONDecodeError, ValueError) as exc:
            self.counters["rejected"] += 1
            return web.json_response({"error": str(exc)}, status=400)
        if ignored:
            self.counters["ignored"] += ignored.total()
        new = self.ledger.record_reports(reports, self.clock.now().timestamp(), gateway=gateway)
        self.counters["received"] += len(reports)
        self.counters["new"] += new
        self.counters["replayed"] += len(reports) - new
        return web.json_response({"received": len(reports), "new": new})

    async def start(self) -> ReportReceiver:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        for route in (self.path, self.path.rstrip("/") + "/{gateway}"):
            app.router.add_post(route, self._handle)
            app.router.add_get(route, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
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
