"""A loopback simulator of VNPT's brandname JSON API (``RQST`` ``send_sms_list``), for
tests and benchmarks.

A real aiohttp server on 127.0.0.1 that reads the request with the plugin's own reader
and answers ``RPLY{ERROR, ERROR_DESC}`` with this plugin's default codes (``VnptCodes``),
with faults: HTTP 503, a system-error code (``99``), answers that never come (after
accepting: the lost-answer case), throttling (``8``: every n-th request, or above a
rate), wrong credentials (``1``), an unregistered label (``3``) or template (``4``),
invalid numbers (``5``), numbers that are not VinaPhone's when ``ISTELCOSUB`` is 1
(``6``), ``DATACODING`` 0 for a text GSM-7 cannot carry (``10``); ``echo_secrets``
makes every error description repeat the APIPASS.  A REQID accepted before is answered
``7`` and not accepted again; every accepted message is recorded::

    with VnptSimulator(throttle_every=7) as sim:
        ...  # url = sim.url
        assert sim.duplicates() == {}
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from typing import Any

import attrs
from aiohttp import web

from langson_comms.sms.encoding import Encoding, analyse
from langson_comms.testing.loopback import ThreadedServer, Throttle, serve_loopback

from .envelope import OPERATION, UnreadableReply, read_request, reply

__all__ = ["VnptSimulator", "VnptSms"]


@attrs.frozen
class VnptSms:
    request_id: str
    msisdn: str
    text: str
    data_coding: str
    label: str
    template_id: str


@attrs.define
class VnptSimulator(ThreadedServer):
    """The simulated API; ``url`` once started.  Probabilities are per request."""

    api_user: str = "langson_api"
    api_pass: str = "vnpt-s3cret-pass"
    agent_id: str = "244"
    contract_id: str = "13681"
    username: str = "langson"
    labels: tuple[str, ...] = ("LANGSON",)
    templates: tuple[str, ...] = ("T-FREE-1",)
    throttle_every: int = 0  # every n-th request answered 8 (0: never)
    rate_msgs: float | None = None  # above this many requests per second: 8
    fail_5xx: float = 0.0  # HTTP 503
    system_error: float = 0.0  # RPLY ERROR 99
    timeout: float = 0.0  # accept, then hold the answer for hang_seconds
    hang_seconds: float = 3.0
    not_subscriber_prefixes: tuple[str, ...] = ("8496",)  # 6, when ISTELCOSUB is 1
    reject_prefixes: tuple[str, ...] = ("84000",)  # 5
    #: every error's description repeats the request's APIPASS (a careless API): the
    #: gateway must never pass it on
    echo_secrets: bool = False
    record: bool = True
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    accepted: list[VnptSms] = attrs.Factory(list)
    counters: Counter[str] = attrs.Factory(Counter)
    requests: list[dict[str, Any]] = attrs.Factory(list)
    _by_id: dict[str, VnptSms] = attrs.Factory(dict)
    _rng: random.Random = attrs.field(init=False)
    _throttle: Throttle = attrs.Factory(Throttle)
    _runner: web.AppRunner | None = None
    _lock: threading.Lock = attrs.Factory(threading.Lock)

    thread_name = "vnpt-simulator"

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/smsbn/api"

    # -- what it saw ---------------------------------------------------------------------

    def accepted_snapshot(self) -> list[VnptSms]:
        with self._lock:
            return list(self.accepted)

    def duplicates(self) -> dict[str, int]:
        """(number, text) accepted more than once: must be empty for exactly-once."""
        seen = Counter((a.msisdn, a.text) for a in self.accepted_snapshot())
        return {f"{number[:5]}… {text[:30]}": n for (number, text), n in seen.items() if n > 1}

    # -- the server ----------------------------------------------------------------------

    async def start_async(self) -> VnptSimulator:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_post("/smsbn/api", self._handle)
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

    def _answer(self, rq: dict[str, Any]) -> tuple[str, str]:
        if rq.get("name") != OPERATION:
            self.counters["malformed"] += 1
            return "11", f"unknown operation {str(rq.get('name'))[:30]!r}"
        if ((rq.get("APIUSER"), rq.get("APIPASS"), rq.get("AGENTID"), rq.get("CONTRACTID"),
             rq.get("USERNAME")) != (self.api_user, self.api_pass, self.agent_id,
                                     self.contract_id, self.username)):
            self.counters["auth_failed"] += 1
            return "1", "authentication failed (APIUSER/APIPASS/AGENTID/CONTRACTID/USERNAME)"
        if rq.get("LABELID") not in self.labels:
            self.counters["label_refused"] += 1
            return "3", "LABELID not registered"
        params = rq.get("PARAMS")
        if rq.get("TEMPLATEID") not in self.templates or not (
                isinstance(params, list) and len(params) == 1 and isinstance(params[0], dict)
                and params[0].get("NUM") == "1" and isinstance(params[0].get("CONTENT"), str)
                and params[0]["CONTENT"]):
            self.counters["template_refused"] += 1
            return "4", "TEMPLATEID not registered or PARAMS do not match it"
        if self._throttled():
            self.counters["throttled"] += 1
            return "8", "throughput exceeded"
        if self._rng.random() < self.system_error:
            self.counters["system_errors"] += 1
            return "99", "system error"
        number, text = str(rq.get("MOBILELIST", "")), params[0]["CONTENT"]
        request_id, coding = str(rq.get("REQID", "")), rq.get("DATACODING")
        if not request_id or coding not in ("0", "8"):
            self.counters["malformed"] += 1
            return "11", "REQID or DATACODING missing"
        if number.startswith(self.reject_prefixes) or not number.isdigit():
            self.counters["rejected"] += 1
            return "5", f"invalid MOBILELIST {number}"
        if rq.get("ISTELCOSUB") == "1" and number.startswith(self.not_subscriber_prefixes):
            self.counters["not_subscriber"] += 1
            return "6", "not a VinaPhone subscriber"
        if coding == "0" and analyse(text).encoding is not Encoding.GSM7:
            self.counters["wrong_coding"] += 1
            return "10", "DATACODING 0 for a text GSM-7 cannot carry"
        with self._lock:
            if request_id in self._by_id:
                self.counters["replays"] += 1
                return "7", "REQID already received"
            sms = VnptSms(request_id, number, text, coding, str(rq.get("LABELID")),
                          str(rq.get("TEMPLATEID")))
            self._by_id[request_id] = sms
            if self.record:
                self.accepted.append(sms)
        self.counters["accepted"] += 1
        return "0", "success"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.counters["requests"] += 1
        raw = await request.read()
        try:
            rq = read_request(raw)
        except UnreadableReply as exc:
            self.counters["malformed"] += 1
            return web.json_response({"error": str(exc)}, status=400)
        if self.record:
            self.requests.append({k: v for k, v in rq.items() if k != "APIPASS"})
        roll = self._rng.random()
        if roll < self.fail_5xx:
            self.counters["http_5xx"] += 1
            return web.json_response({"error": "service unavailable"}, status=503)
        error, description = self._answer(rq)
        if self.echo_secrets and error != "0":
            description += f" (request of {rq.get('APIUSER')}/{rq.get('APIPASS')})"
        if error == "0" and roll - self.fail_5xx < self.timeout:
            self.counters["timeouts"] += 1  # accepted, and the answer is never seen
            await asyncio.sleep(self.hang_seconds)
        return web.json_response(reply(error, description))
