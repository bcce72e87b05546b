"""A carrier simulator: a real HTTP server on 127.0.0.1 speaking the generic gateway's
default wire format (see ``langson_comms.sms.http_gateway``).

It enforces a rate limit (429 with ``Retry-After``), injects faults by configuration
(5xx, answers that never come, connection resets, slow answers, periodic 429 bursts),
sends delivery-report callbacks (optionally duplicated, or sent *before* the submit
answer), queues reports for polling, honours idempotency keys when told to, and records
every message it accepted so a test can assert exactly-once delivery.

Use it from tests (``carrier_simulator`` fixture, or ``CarrierSimulator(...).start()``
which runs the server in a background thread), in an event loop (``await
sim.start_async()``), or from the command line for demos::

    python -m langson_comms.testing.simulator --port 8686 --rate 200 --fail-5xx 0.1
    langson-comms sms simulator --port 8686 --dlr-url http://127.0.0.1:8687/dlr
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from ..sms.encoding import analyse
from .loopback import ThreadedServer, serve_loopback

__all__ = ["AcceptedSms", "CarrierSimulator", "SimulatorConfig", "carrier_simulator", "parts_of"]

def parts_of(text: str) -> int:
    """How many parts a carrier bills for ``text`` (the SDK's own GSM 03.38 count)."""
    return analyse(text).segments


@attrs.define
class SimulatorConfig:
    """What the simulated carrier does.  Probabilities are per request, in [0, 1]."""

    rate_msgs: float | None = None  # messages per second before 429s
    rate_burst: float = 0.2  # seconds of rate allowed at once
    retry_after: float = 0.2  # the Retry-After it answers with 429
    burst_429_every: float | None = None  # every N seconds, answer 429 to everything…
    burst_429_length: float = 0.1  # …for this many seconds
    fail_5xx: float = 0.0
    timeout: float = 0.0  # hold the answer for hang_seconds (the client times out)
    timeout_after_accept: bool = True  # the lost-answer case: accepted, answer never seen
    hang_seconds: float = 3.0
    reset: float = 0.0  # drop the connection without an answer (before accepting)
    slow: float = 0.0
    slow_seconds: float = 0.05
    reject_prefixes: tuple[str, ...] = ("+84000",)  # numbers answered "invalid_number"
    #: numbers answered ``{"status": wrong_route_status}`` ("not my subscriber": ported);
    #: the generic gateway maps it with ``result.wrong_route = ["not_subscriber"]``
    wrong_route_prefixes: tuple[str, ...] = ()
    wrong_route_status: str = "not_subscriber"
    require_auth: str | None = None  # expected Authorization header value (401 otherwise)
    honour_idempotency: bool = False
    dlr_url: str | None = None
    dlr_auth: str | None = None  # Authorization header value sent with report callbacks
    dlr_delay: float = 0.02
    dlr_failed: float = 0.0  # share of messages whose report says failed
    duplicate_dlr: float = 0.0
    early_dlr: float = 0.0  # report posted before the submit answer
    dlr_polling: bool = False  # keep reports for GET /sms/reports
    record: bool = True  # keep every accepted message (False for long benchmarks: count only)
    seed: int = 0


@attrs.frozen
class AcceptedSms:
    message_id: str
    to: str
    text: str
    ref: str | None
    request_id: str | None
    parts: int
    at: float  # time.monotonic() when accepted


class CarrierSimulator(ThreadedServer):
    """The simulated carrier.  ``url`` is the single-message endpoint once started;
    ``start()``/``stop()`` (or ``with``) serve it from a background thread."""

    thread_name = "carrier-simulator"

    def __init__(self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, **overrides: Any) -> None:
        base = config or SimulatorConfig()
        self.config = attrs.evolve(base, **overrides) if overrides else base
        self.host = host
        self.port = port
        self.accepted: list[AcceptedSms] = []
        #: the numbers answered "not my subscriber" (``wrong_route_prefixes``), in order
        self.wrong_routed: list[str] = []
        self.counters: Counter[str] = Counter()
        self.dlr_sent: list[dict[str, Any]] = []
        self._by_key: dict[str, AcceptedSms] = {}
        self._rng = random.Random(self.config.seed)
        self._next_id = 0
        rate = self.config.rate_msgs
        self._tokens = max(rate * self.config.rate_burst, 1.0) if rate else 0.0
        self._last = time.monotonic()
        self._started = time.monotonic()
        self._pending_dlr: list[tuple[float, dict[str, Any]]] = []
        self._poll_queue: list[dict[str, Any]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._dlr_task: asyncio.Task[None] | None = None
        self._background = None
        self._lock = threading.Lock()

    # -- addresses -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/sms/send"

    @property
    def batch_url(self) -> str:
        return f"{self.base_url}/sms/batch"

    @property
    def poll_url(self) -> str:
        return f"{self.base_url}/sms/reports"

    # -- what it saw ---------------------------------------------------------------------

    def accepted_snapshot(self) -> list[AcceptedSms]:
        with self._lock:
            return list(self.accepted)

    def duplicates(self) -> dict[str, int]:
        """(to, text) pairs accepted more than once: must be empty for exactly-once."""
        seen = Counter((a.to, a.text) for a in self.accepted_snapshot())
        return {f"{to} {text[:30]}": n for (to, text), n in seen.items() if n > 1}

    def stats(self) -> dict[str, Any]:
        return {**self.counters, "accepted": len(self.accepted),
                "duplicates": sum(n - 1 for n in self.duplicates().values())}

    # -- the server ----------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/sms/send", self._handle_single)
        app.router.add_post("/sms/batch", self._handle_batch)
        app.router.add_get("/sms/reports", self._handle_poll)
        app.router.add_get("/stats", self._handle_stats)
        return app

    async def start_async(self) -> CarrierSimulator:
        self._runner, self.port = await serve_loopback(self._app(), self.host, self.port)
        self._session = aiohttp.ClientSession()
        self._dlr_task = asyncio.create_task(self._dlr_loop())
        return self

    async def stop_async(self) -> None:
        if self._dlr_task is not None:
            self._dlr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dlr_task
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- request handling ----------------------------------------------------------------

    def _rate_ok(self, n: int) -> bool:
        cfg = self.config
        now = time.monotonic()
        if cfg.burst_429_every:
            phase = (now - self._started) % cfg.burst_429_every
            if phase > cfg.burst_429_every - cfg.burst_429_length:
                return False
        if not cfg.rate_msgs:
            return True
        capacity = max(cfg.rate_msgs * cfg.rate_burst, 1.0)
        self._tokens = min(capacity, self._tokens + (now - self._last) * cfg.rate_msgs)
        self._last = now
        if self._tokens < min(n, capacity):
            return False
        self._tokens -= n
        return True

    async def _faults(self, request: web.Request, n: int) -> web.StreamResponse | str | None:
        """A fault response, ``"hang"`` for a lost answer, or None to proceed."""
        cfg = self.config
        self.counters["requests"] += 1
        if cfg.require_auth is not None and request.headers.get("Authorization") != cfg.require_auth:
            self.counters["http_401"] += 1
            return web.json_response({"error": "bad credentials"}, status=401)
        if not self._rate_ok(n):
            self.counters["http_429"] += 1
            return web.json_response({"error": "rate limited"}, status=429,
                                     headers={"Retry-After": f"{cfg.retry_after:g}"})
        roll = self._rng.random()
        if roll < cfg.fail_5xx:
            self.counters["http_5xx"] += 1
            return web.json_response({"error": "upstream down"}, status=503)
        roll -= cfg.fail_5xx
        if roll < cfg.reset:
            self.counters["resets"] += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing is written: the client sees a reset
        roll -= cfg.reset
        if roll < cfg.timeout:
            self.counters["timeouts"] += 1
            if not cfg.timeout_after_accept:
                await asyncio.sleep(cfg.hang_seconds)
                return web.json_response({"error": "late"}, status=504)
            return "hang"
        roll -= cfg.timeout
        if roll < cfg.slow:
            self.counters["slow"] += 1
            await asyncio.sleep(cfg.slow_seconds)
        return None

    def _accept(self, item: Any, header_key: str | None) -> dict[str, Any]:
        if not isinstance(item, dict) or not item.get("to") or not isinstance(item.get("text"), str):
            self.counters["malformed"] += 1
            return {"status": "rejected", "error": "malformed", "ref": _get(item, "ref")}
        ref = item.get("ref")
        key = item.get("request_id") or header_key
        to = str(item["to"])
        if to.startswith(self.config.reject_prefixes):
            self.counters["rejected"] += 1
            return {"status": "rejected", "error": "invalid_number", "ref": ref}
        if self.config.wrong_route_prefixes and to.startswith(self.config.wrong_route_prefixes):
            self.counters["wrong_route"] += 1
            with self._lock:
                self.wrong_routed.append(to)
            return {"status": self.config.wrong_route_status,
                    "error": "the number is not this carrier's subscriber", "ref": ref}
        if self.config.honour_idempotency and key and key in self._by_key:
            self.counters["replays"] += 1
            earlier = self._by_key[key]
            return {"status": "accepted", "message_id": earlier.message_id,
                    "parts": earlier.parts, "ref": ref}
        self._next_id += 1
        text = item["text"]
        sms = AcceptedSms(f"SIM{self._next_id}", to, text, None if ref is None else str(ref),
                          key, parts_of(text), time.monotonic())
        self.counters["accepted_total"] += 1
        if self.config.record:
            with self._lock:
                self.accepted.append(sms)
        if key and self.config.honour_idempotency:
            self._by_key[key] = sms
        self._queue_reports(sms)
        return {"status": "accepted", "message_id": sms.message_id, "parts": sms.parts,
                "ref": ref}

    def _queue_reports(self, sms: AcceptedSms) -> None:
        cfg = self.config
        if not cfg.dlr_url and not cfg.dlr_polling:
            return
        failed = self._rng.random() < cfg.dlr_failed
        reports = [
            {"message_id": sms.message_id, "status": "failed" if failed else "delivered",
             "part": part, "parts": sms.parts, "error": "UNDELIV" if failed else None}
            for part in range(1, sms.parts + 1)
        ]
        if self._rng.random() < cfg.duplicate_dlr:
            self.counters["dlr_duplicated"] += 1
            reports = reports + reports
        due = time.monotonic() + cfg.dlr_delay
        if self._rng.random() < cfg.early_dlr:
            due = 0.0  # posted before the answer goes out (see _early)
        if cfg.dlr_polling:
            self._poll_queue.extend(reports)
        else:
            self._pending_dlr.extend((due, r) for r in reports)

    async def _early(self) -> None:
        """Post reports marked early right now, before the submit answer is written."""
        early = [r for due, r in self._pending_dlr if due == 0.0]
        if early:
            self._pending_dlr = [(d, r) for d, r in self._pending_dlr if d != 0.0]
            self.counters["dlr_early"] += len(early)
            if not await self._post_reports(early):
                # The receiver is down: like any report, try again later (nothing dropped).
                retry = time.monotonic() + 0.5
                self._pending_dlr.extend((retry, r) for r in early)

    async def _handle_single(self, request: web.Request) -> web.StreamResponse:
        fault = await self._faults(request, 1)
        if isinstance(fault, web.StreamResponse):
            return fault
        try:
            item = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        answer = self._accept(item, request.headers.get("Idempotency-Key"))
        await self._early()
        if fault == "hang":
            await asyncio.sleep(self.config.hang_seconds)
        return web.json_response(answer)

    async def _handle_batch(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        items = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return web.json_response({"error": "expected {'messages': [...]}"}, status=400)
        fault = await self._faults(request, len(items))
        if isinstance(fault, web.StreamResponse):
            return fault
        results = [self._accept(item, None) for item in items]
        await self._early()
        if fault == "hang":
            await asyncio.sleep(self.config.hang_seconds)
        return web.json_response({"results": results})

    async def _handle_poll(self, request: web.Request) -> web.StreamResponse:
        reports, self._poll_queue = self._poll_queue[:1000], self._poll_queue[1000:]
        self.dlr_sent.extend(reports)
        return web.json_response({"reports": reports})

    async def _handle_stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats())

    # -- delivery-report callbacks -------------------------------------------------------

    async def _post_reports(self, reports: list[dict[str, Any]]) -> bool:
        if not self.config.dlr_url or self._session is None:
            return False
        try:
            headers = {"Authorization": self.config.dlr_auth} if self.config.dlr_auth else None
            async with self._session.post(self.config.dlr_url, json={"reports": reports},
                                          headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=10)) as resp:
                ok = resp.status < 300
        except (TimeoutError, aiohttp.ClientError, OSError):
            ok = False
        if ok:
            self.dlr_sent.extend(reports)
            self.counters["dlr_posted"] += len(reports)
        else:
            self.counters["dlr_post_failures"] += 1
        return ok

    async def _dlr_loop(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            if not self._pending_dlr:
                continue
            now = time.monotonic()
            due = [r for d, r in self._pending_dlr if d <= now]
            if not due:
                continue
            self._pending_dlr = [(d, r) for d, r in self._pending_dlr if d > now]
            for start in range(0, len(due), 1000):
                chunk = due[start : start + 1000]
                if not await self._post_reports(chunk):
                    # The receiver is down: try again later, nothing is dropped.
                    retry = time.monotonic() + 0.5
                    self._pending_dlr.extend((retry, r) for r in due[start:])
                    break


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else None


try:  # the fixture is offered when pytest is there (the test kit), never required
    import pytest
except ImportError:  # pragma: no cover
    pass
else:

    @pytest.fixture
    def carrier_simulator() -> Iterator[Any]:
        """Start simulators on 127.0.0.1: ``sim = carrier_simulator(rate_msgs=500)``."""
        started: list[CarrierSimulator] = []

        def start(config: SimulatorConfig | None = None, **overrides: Any) -> CarrierSimulator:
            sim = CarrierSimulator(config, **overrides).start()
            started.append(sim)
            return sim

        yield start
        for sim in started:
            sim.stop()


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Run the langson_comms carrier simulator on 127.0.0.1")
    p.add_argument("--port", type=int, default=8686)
    p.add_argument("--rate", type=float, default=None, help="messages/s before 429")
    p.add_argument("--fail-5xx", type=float, default=0.0)
    p.add_argument("--timeout", type=float, default=0.0)
    p.add_argument("--reset", type=float, default=0.0)
    p.add_argument("--dlr-url", default=None)
    p.add_argument("--idempotent", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-record", action="store_true", help="count accepted messages only")
    return p


async def serve(config: SimulatorConfig, port: int, *, announce: bool = True) -> None:
    """Serve until SIGINT/SIGTERM, printing the endpoints and then the stats."""
    sim = CarrierSimulator(config, port=port)
    await sim.start_async()
    if announce:
        print(f"carrier simulator on {sim.base_url}  send={sim.url}  batch={sim.batch_url}",
              flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print(json.dumps(sim.stats()), flush=True)
        await sim.stop_async()


def main(argv: list[str] | None = None) -> None:
    args = _build_parser().parse_args(argv)
    config = SimulatorConfig(rate_msgs=args.rate, fail_5xx=args.fail_5xx, timeout=args.timeout,
                             reset=args.reset, dlr_url=args.dlr_url,
                             honour_idempotency=args.idempotent, seed=args.seed,
                             record=not args.no_record)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(config, args.port))


if __name__ == "__main__":
    main()
