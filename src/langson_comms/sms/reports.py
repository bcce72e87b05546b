"""Delivery reports: the carrier's final word, by HTTP callback or by polling.

``ReportReceiver`` is the callback endpoint (``POST /dlr``; the CLI serves it with
``sms serve-reports`` or alongside ``sms send --serve-reports``).  A report is
acknowledged with 200 only after the ledger committed it, so a carrier that retries on
failure never loses one.  ``ReportPoller`` asks gateways that offer polling.

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
from collections.abc import Sequence

from aiohttp import web

from ..clock import Clock, SystemClock
from ..errors import GatewayError
from .gateway import SmsGateway
from .http_gateway import ReportFormat, parse_reports
from .ledger import LedgerStore

__all__ = ["ReportPoller", "ReportReceiver"]

log = logging.getLogger(__name__)


class ReportReceiver:
    """An HTTP endpoint on 127.0.0.1 (by default) that records delivery reports."""

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
    ) -> None:
        self.ledger = ledger
        self.fmt = fmt or ReportFormat()
        self.host = host
        self.port = port
        self.path = path
        self.clock = clock or SystemClock()
        self.token = token
        self.counters: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    async def _handle(self, request: web.Request) -> web.Response:
        if self.token is not None and request.headers.get("Authorization") != self.token:
            self.counters["unauthorised"] += 1
            return web.json_response({"error": "bad credentials"}, status=401)
        try:
            body = await request.json()
            reports = parse_reports(body, self.fmt, source="body")
        except (json.JSONDecodeError, ValueError) as exc:
            self.counters["rejected"] += 1
            return web.json_response({"error": str(exc)}, status=400)
        new = self.ledger.record_reports(reports, self.clock.now().timestamp())
        self.counters["received"] += len(reports)
        self.counters["new"] += new
        self.counters["replayed"] += len(reports) - new
        return web.json_response({"received": len(reports), "new": new})

    async def start(self) -> ReportReceiver:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(self.path, self._handle)
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
    """Polls gateways with ``supports_polling`` every ``interval`` seconds until stopped."""

    def __init__(
        self,
        ledger: LedgerStore,
        gateways: Sequence[SmsGateway],
        *,
        interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        self.ledger = ledger
        self.gateways = [g for g in gateways if g.capabilities.supports_polling]
        self.interval = interval
        self.clock = clock or SystemClock()
        self.counters: Counter[str] = Counter()

    async def poll_once(self) -> int:
        new = 0
        for gateway in self.gateways:
            try:
                reports = await gateway.poll_reports()
            except GatewayError as exc:
                self.counters["errors"] += 1
                log.warning("polling %s failed: %s", gateway.gateway_id, exc)
                continue
            if reports:
                new += self.ledger.record_reports(reports, self.clock.now().timestamp())
                self.counters["received"] += len(reports)
        self.counters["new"] += new
        return new

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
        await self.poll_once()
