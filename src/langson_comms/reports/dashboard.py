"""The live dashboard: the same report, served read-only, refreshed as data arrives.

``Dashboard(campaign, …)`` measures the campaign from its stores (``measure_stores``)
when a store file changed (size or modification time of the SQLite file and its WAL),
redraws only the charts whose figures moved (``ChartCache``), and serves:

- ``GET /`` — the HTML report (``report_body``) and a small inline script that polls
  ``/api/state`` every ``poll_ms`` and, when the version changed, swaps in
  ``/api/body`` (no page reload);
- ``GET /api/state`` — ``{"version", "as_of", "measured_at", "refresh_seconds",
  "refresh_cpu_seconds", "error"}`` (the last refresh's wall and CPU time; ``error``: why
  it failed — the last figures are still served — or ``null``);
- ``GET /api/body`` — the report's ``<main>`` fragment; ``GET /report.json`` every figure.

Nothing else: other methods answer 405, there is no write path.  On a loopback address
no login is asked; bound elsewhere, a token is required (``Authorization: Bearer
<token>`` or ``?token=`` on the page, which passes it on to the API), compared in
constant time; without one the dashboard refuses to start (``ConfigError``).

``run_dashboard(...)`` serves until cancelled (the CLI's ``dashboard``);
``Dashboard.start()``/``stop()`` serve from a running event loop (tests).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from ..campaign import Campaign
from ..clock import Clock
from ..errors import ConfigError, LangsonCommsError
from ..http_serving import QuietAppRunner, is_loopback
from ..kpi import Measurement, SignupCache, measure_stores, report_period, store_paths
from .charts import ChartCache
from .html import page, report_body
from .views import View

__all__ = ["Dashboard", "run_dashboard"]

SCRIPT = """
(() => {
  const token = new URLSearchParams(location.search).get("token");
  const headers = token ? {"Authorization": "Bearer " + token} : {};
  let version = document.body.dataset.version;
  const live = document.getElementById("live");
  async function tick() {
    try {
      const state = await (await fetch("api/state", {headers, cache: "no-store"})).json();
      if (state.version !== version) {
        const body = await (await fetch("api/body", {headers, cache: "no-store"})).text();
        document.getElementById("report").outerHTML = body;
        version = state.version;
        document.body.dataset.version = version;
      }
      live.textContent = state.error ? "Lỗi khi cập nhật (số liệu lần trước): " + state.error
                                     : "Trực tiếp: cập nhật lúc " + new Date().toLocaleTimeString("vi-VN");
    } catch (e) {
      live.textContent = "Mất kết nối, đang thử lại…";
    }
    setTimeout(tick, POLL_MS);
  }
  setTimeout(tick, POLL_MS);
})();
"""


class Dashboard:
    """Serves ``campaign``'s report on ``host:port`` (``port`` 0: any free port, see
    ``url``).  ``measure`` defaults to ``measure_stores`` over ``report_period(campaign,
    clock, start, end)`` re-evaluated at each refresh (today moves).  ``base_dir`` is the
    folder whose ``.langson`` holds the activity and as-run stores (default: the folder the
    campaign's relative paths were read from, its file's or ``build_campaign``'s
    ``base_dir``; a ``Campaign`` made by hand has none: a ``ConfigError`` asks for it);
    ``activity_store`` replaces ``<base_dir>/.langson/activity.sqlite``."""

    def __init__(self, campaign: Campaign, *, clock: Clock, host: str = "127.0.0.1", port: int = 8050,
                 token: str | None = None, view: View | None = None, start: Any = None, end: Any = None,
                 registry: Any = None, poll_ms: int = 500,
                 measure: Callable[[], Measurement] | None = None,
                 base_dir: str | Path | None = None, activity_store: str | Path | None = None) -> None:
        token = token if token and token.strip() else None  # a blank variable is no token
        if not is_loopback(host) and not token:
            raise ConfigError(f"the dashboard bound to {host} needs a token (expected the token's environment "
                              "variable, e.g. LANGSON_DASHBOARD_TOKEN, to be set; on 127.0.0.1 none is needed)")
        folder = campaign_folder(campaign, base_dir)
        activity = Path(activity_store) if activity_store is not None else folder / ".langson" / "activity.sqlite"
        self.campaign, self.clock, self.host, self.port = campaign, clock, host, port
        self.token, self.view, self.poll_ms = token, view or View(), poll_ms
        #: the sign-ups read so far: a refresh reads only those stored since the last one
        self.signup_cache = SignupCache()
        self._measure = measure or (lambda: measure_stores(
            campaign, report_period(campaign, clock, start, end), clock=clock, registry=registry,
            signup_cache=self.signup_cache, activity_store=activity))
        self._stores = list({**store_paths(campaign), "activity": activity}.values())
        self._folder: Path | None = folder / ".langson"
        self._signature: tuple[Any, ...] | None = None
        self._version = ""
        self._measurement: Measurement | None = None
        self._body = ""
        self._charts = ChartCache()
        self._lock = asyncio.Lock()
        self._runner: QuietAppRunner | None = None
        #: seconds the last refresh took (measure + render), wall and CPU (of its thread)
        self.refresh_seconds = 0.0
        self.refresh_cpu_seconds = 0.0
        #: why the last refresh failed (the last figures are still served), or ``None``
        self.error: str | None = None

    # -- data -------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        """The stores' files and their WALs, and every SQLite file in ``.langson`` (the
        broadcast as-run store is one)."""
        stores = set(self._stores)
        if self._folder is not None and self._folder.is_dir():
            stores.update(self._folder.glob("*.sqlite"))
        return [p for path in sorted(stores) for p in (path, Path(f"{path}-wal"))]

    def _stat(self) -> tuple[Any, ...]:
        out: list[tuple[int, int] | None] = []
        for path in self._files():
            try:
                st = path.stat()
                out.append((st.st_size, st.st_mtime_ns))
            except FileNotFoundError:
                out.append(None)
        # the campaign's local day (the report period's), not the clock's own zone's
        today = self.clock.now().in_timezone(self.campaign.period.timezone).date()
        return (today.isoformat(), *out)

    def refresh_now(self) -> bool:
        """Measure and render when a store changed (or the day did); ``True`` when it did."""
        signature = self._stat()
        if signature == self._signature and self._measurement is not None:
            return False
        began, cpu = time.perf_counter(), time.thread_time()
        try:
            measurement = self._measure()
            body = report_body(measurement, self.view, chart=self._charts)
        except LangsonCommsError as exc:  # a store busy or broken meanwhile: keep the last figures
            if self._measurement is None:
                raise  # nothing to show yet: the start fails with the reason
            self.error, self._signature = str(exc), signature  # tried again when a store changes
            return False
        self.error = None
        self.refresh_seconds = time.perf_counter() - began
        self.refresh_cpu_seconds = time.thread_time() - cpu
        self._measurement, self._body, self._signature = measurement, body, signature
        self._version = hashlib.sha256(body.encode()).hexdigest()[:16]
        return True

    async def refresh(self) -> None:
        async with self._lock:  # one refresh at a time, off the event loop
            await asyncio.get_running_loop().run_in_executor(None, self.refresh_now)

    # -- HTTP -------------------------------------------------------------------------
    def _allowed(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query.get("token", "")
        # surrogateescape: aiohttp decodes raw header bytes that are not UTF-8 so
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                   self.token.encode("utf-8", "surrogateescape"))

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not self._allowed(request):
            return web.Response(status=401, text="a token is needed (Authorization: Bearer <token>)\n")
        response: web.StreamResponse = await handler(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "script-src 'unsafe-inline'; connect-src 'self'; img-src data:")
        return response

    async def _index(self, request: web.Request) -> web.Response:
        await self.refresh()
        assert self._measurement is not None
        body = (f'<p id="live">Trực tiếp</p>\n{self._body}')
        html = page(f"{self._measurement.campaign_title} — trực tiếp", body,
                    SCRIPT.replace("POLL_MS", str(self.poll_ms)))
        html = html.replace("<body>", f'<body data-version="{self._version}">', 1)
        return web.Response(text=html, content_type="text/html")

    async def _state(self, request: web.Request) -> web.Response:
        await self.refresh()
        assert self._measurement is not None
        return web.json_response({"version": self._version, "as_of": self._measurement.as_of.isoformat(),
                                  "measured_at": self._measurement.measured_at.isoformat(),
                                  "refresh_seconds": self.refresh_seconds,
                                  "refresh_cpu_seconds": self.refresh_cpu_seconds, "error": self.error})

    async def _body_fragment(self, request: web.Request) -> web.Response:
        await self.refresh()
        return web.Response(text=self._body, content_type="text/html")

    async def _json(self, request: web.Request) -> web.Response:
        await self.refresh()
        assert self._measurement is not None
        return web.Response(text=json.dumps(self._measurement.as_dict(), ensure_ascii=False),
                            content_type="application/json")

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/body", self._body_fragment)
        app.router.add_get("/report.json", self._json)
        return app

    async def start(self) -> str:
        """Serve from the running loop; returns the URL."""
        await self.refresh()
        self._runner = QuietAppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def campaign_folder(campaign: Campaign, base_dir: str | Path | None = None) -> Path:
    """``base_dir``, else the folder ``campaign``'s relative paths were read from (its
    file's, or ``build_campaign``'s ``base_dir``); ``ConfigError`` asking for ``base_dir``
    when it has none (a ``Campaign`` made by hand)."""
    if base_dir is not None:
        return Path(base_dir)
    if campaign.base_dir is not None:
        return Path(campaign.base_dir)
    if campaign.source is not None and Path(campaign.source).is_file():
        return Path(campaign.source).resolve().parent
    raise ConfigError("the campaign has no folder of its own (it was not read from a file nor "
                      "built with build_campaign's base_dir): pass base_dir=FOLDER, the folder "
                      "whose .langson holds its stores", source=campaign.source, key="base_dir")


async def run_dashboard(dashboard: Dashboard, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve ``dashboard`` until cancelled; ``ready(url)`` once it listens."""
    url = await dashboard.start()
    if ready is not None:
        ready(url)
    try:
        await asyncio.Event().wait()
    finally:
        await dashboard.stop()
