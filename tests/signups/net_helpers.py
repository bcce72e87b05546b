"""Loopback servers for the network sources: a paged JSON API in a background thread.

The poller's ``read`` is synchronous (it runs its own event loop), so the API it talks
to runs on another thread with its own loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web


class PagedApi:
    """A platform API on 127.0.0.1: ``GET /signups?cursor=N&limit=K`` over ``items``.

    The cursor is the offset as text (``None``: 0); answers
    ``{"data": {"items": [...], "next": "<offset>" | null}}``.  ``failures`` is a list of
    ``(status, headers)`` answered, in order, before the real pages (e.g. 500, 429).
    ``fail_at`` maps an offset to statuses answered the first times that page is asked.
    ``requests`` records every query string.
    """

    def __init__(self, items: list[Any] | None = None, page_size: int = 3) -> None:
        self.items: list[Any] = list(items or [])
        self.page_size = page_size
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.requests: list[dict[str, str]] = []
        self.url = ""
        self.raw: bytes | None = None  # answer this body instead of JSON pages
        #: offset → how many more times that page answers 503 before it is served
        self.fail_offsets: dict[int, int] = {}
        self.auth: list[str | None] = []
        #: the ``X-Host-App`` header of every request (a host application's own client)
        self.hosts_header: list[str | None] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        self.auth.append(request.headers.get("Authorization"))
        self.hosts_header.append(request.headers.get("X-Host-App"))
        if self.failures:
            status, headers = self.failures.pop(0)
            return web.json_response({"error": "busy"}, status=status, headers=headers)
        if self.raw is not None:
            return web.Response(body=self.raw, content_type="application/json")
        size = int(request.query.get("limit") or self.page_size)
        if "page" in request.query:  # page numbers from 1
            start = (int(request.query["page"]) - 1) * size
        else:
            start = int(request.query.get("cursor") or 0)
        if self.fail_offsets.get(start, 0) > 0:
            self.fail_offsets[start] -= 1
            return web.json_response({"error": "unavailable"}, status=503)
        page = self.items[start:start + size]
        more = start + size < len(self.items)
        return web.json_response({"data": {"items": page, "next": str(start + size) if more else None}})


@contextmanager
def running(api: PagedApi) -> Iterator[PagedApi]:
    """Serve ``api`` on 127.0.0.1 in a background thread for the ``with`` block."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/signups", api.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        holder["runner"] = runner
        api.url = f"http://127.0.0.1:{runner.addresses[0][1]}/signups"
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    started.wait(30)
    try:
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
