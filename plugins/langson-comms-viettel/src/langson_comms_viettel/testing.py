"""A loopback simulator of Viettel's ``wsCpMt`` SOAP service, for tests and benchmarks.

A real aiohttp server on 127.0.0.1 that reads the request with the plugin's own lxml
reader and answers like the service (``result`` 1, or 0 with a code in ``message``), with
faults: HTTP 500 SOAP faults, answers that never come (after accepting: the lost-answer
case), throttling (``TPS_EXCEEDED``: every n-th request, or above a rate), wrong
credentials, numbers that are not Viettel subscribers (ported), invalid numbers, a
non-Unicode ``ContentType`` for a text GSM-7 cannot carry.  A ``RequestID`` accepted
before is answered ``DUPLICATE_REQUEST_ID`` and not accepted again; every accepted
message is recorded, so a test can assert that nothing was taken twice::

    with ViettelSimulator(password="s3cret-pass", throttle_every=7) as sim:
        ...  # url = sim.url
        assert sim.duplicates() == {}
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter

import attrs
from aiohttp import web

from langson_comms.sms.encoding import Encoding, analyse
from langson_comms.testing.loopback import ThreadedServer, Throttle, serve_loopback

from .soap import UnreadableAnswer, build_answer, build_fault, parse_request

__all__ = ["ViettelSimulator", "ViettelSms"]


@attrs.frozen
class ViettelSms:
    request_id: str
    msisdn: str
    text: str
    content_type: str
    service_id: str


@attrs.define
class ViettelSimulator(ThreadedServer):
    """The simulated service; ``url`` once started.  Probabilities are per request."""

    user: str = "langson"
    password: str = "s3cret-pass"
    cp_code: str = "LANGSON_CP"
    throttle_every: int = 0  # every n-th request answered TPS_EXCEEDED (0: never)
    rate_msgs: float | None = None  # above this many requests per second: TPS_EXCEEDED
    fail_5xx: float = 0.0  # HTTP 500 with a SOAP fault Server
    timeout: float = 0.0  # accept, then hold the answer for hang_seconds
    hang_seconds: float = 3.0
    slow_seconds: float = 0.0  # every answer waits this long
    not_subscriber_prefixes: tuple[str, ...] = ("8488",)  # NOT_VIETTEL_SUBSCRIBER
    reject_prefixes: tuple[str, ...] = ("84000",)  # INVALID_MSISDN
    #: a fault's text repeats the request's password (a careless service): the gateway
    #: must never pass it on
    echo_secrets: bool = False
    record: bool = True
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    accepted: list[ViettelSms] = attrs.Factory(list)
    counters: Counter[str] = attrs.Factory(Counter)
    requests: list[dict[str, str]] = attrs.Factory(list)
    _by_id: dict[str, ViettelSms] = attrs.Factory(dict)
    _rng: random.Random = attrs.field(init=False)
    _throttle: Throttle = attrs.Factory(Throttle)
    _runner: web.AppRunner | None = None
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    thread_name = "viettel-simulator"

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/bulkapi"

    # -- what it saw ---------------------------------------------------------------------

    def accepted_snapshot(self) -> list[ViettelSms]:
        with self._lock:
            return list(self.accepted)

    def duplicates(self) -> dict[str, int]:
        """(number, text) accepted more than once: must be empty for exactly-once."""
        seen = Counter((a.msisdn, a.text) for a in self.accepted_snapshot())
        return {f"{number[:5]}… {text[:30]}": n for (number, text), n in seen.items() if n > 1}

    # -- the server ----------------------------------------------------------------------

    async def start_async(self) -> ViettelSimulator:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/bulkapi", self._handle)
        self._runner, self.port = await serve_loopback(app, self.host, self.port)
        return self

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- answering -----------------------------------------------------------------------

    def _throttled(self) -> bool:
        return self._throttle.throttled(self.counters["requests"], every=self.throttle_every,
                                        rate=self.rate_msgs)

    @staticmethod
    def _xml(body: bytes, status: int = 200) -> web.Response:
        return web.Response(body=body, status=status, content_type="text/xml", charset="utf-8")

    def _answer(self, fields: dict[str, str]) -> tuple[str, str]:
        if (fields.get("User") != self.user or fields.get("Password") != self.password
                or fields.get("CPCode") != self.cp_code):
            self.counters["auth_failed"] += 1
            return "0", "AUTHENTICATE_FAIL: user, password or CP code"
        if self._throttled():
            self.counters["throttled"] += 1
            return "0", "TPS_EXCEEDED"
        number, text = fields.get("UserID", ""), fields.get("Content", "")
        request_id, content_type = fields.get("RequestID", ""), fields.get("ContentType", "")
        if not request_id or not number or not text or content_type not in ("0", "1"):
            self.counters["malformed"] += 1
            return "0", "INVALID_PARAMETER"
        if number.startswith(self.reject_prefixes) or not number.isdigit():
            self.counters["rejected"] += 1
            return "0", "INVALID_MSISDN"
        if number.startswith(self.not_subscriber_prefixes):
            self.counters["not_subscriber"] += 1
            return "0", "NOT_VIETTEL_SUBSCRIBER"
        if content_type == "0" and analyse(text).encoding is not Encoding.GSM7:
            self.counters["wrong_content_type"] += 1
            return "0", "INVALID_CONTENT: ContentType 0 for a text GSM-7 cannot carry"
        with self._lock:
            if request_id in self._by_id:
                self.counters["replays"] += 1
                return "0", "DUPLICATE_REQUEST_ID"
            sms = ViettelSms(request_id, number, text, content_type, fields.get("ServiceID", ""))
            self._by_id[request_id] = sms
            if self.record:
                self.accepted.append(sms)
        self.counters["accepted"] += 1
        return "1", "Success"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.counters["requests"] += 1
        raw = await request.read()
        try:
            fields = parse_request(raw)
        except UnreadableAnswer as exc:
            self.counters["faults"] += 1
            return self._xml(build_fault("Client", f"unreadable request: {exc}"), 500)
        if self.record:
            self.requests.append({k: v for k, v in fields.items() if k != "Password"})
        roll = self._rng.random()
        if roll < self.fail_5xx:
            self.counters["http_5xx"] += 1
            echo = f" (request of {fields.get('User')}/{fields.get('Password')})" if self.echo_secrets else ""
            return self._xml(build_fault("Server", f"service temporarily unavailable{echo}"), 500)
        result, message = self._answer(fields)
        if result == "1" and roll - self.fail_5xx < self.timeout:
            self.counters["timeouts"] += 1  # accepted, and the answer is never seen
            await asyncio.sleep(self.hang_seconds)
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        return self._xml(build_answer(result, message))
