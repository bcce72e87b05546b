"""A loopback MobiFone session API for tests: aiohttp on 127.0.0.1.

``MobifoneSimulator`` speaks the gateway's wire format (``login.jsp``, ``send.jsp``,
``send_2.jsp``; README) and injects faults: HTTP 503 every ``fail_every``-th send,
``status 5`` (throttled) every ``throttle_every``-th, HTTP 429 with ``Retry-After`` every
``http_throttle_every``-th, a hang of ``hang_seconds`` every ``hang_every``-th, sessions
that expire after ``session_sends`` sends (or at once with ``expire_sessions()``),
numbers that are not MobiFone subscribers (``not_subscribers``) or invalid
(``invalid``), an account refused at login (``login_status``) or at send
(``send_status``).  A repeated ``requestId`` is answered ``status 1`` with the first
message id (``honour_request_id``; off, it is accepted again — a duplicate).  It records
what it accepted (``accepted``) so tests can assert exactly-once::

    async with MobifoneSimulator(session_sends=50) as sim:
        ...  # a MobifoneGateway with url = sim.url
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any, Self

import attrs
from aiohttp import web

from langson_comms.testing.loopback import serve_loopback

__all__ = ["Accepted", "MobifoneSimulator"]


@attrs.frozen
class Accepted:
    """One message the simulator took."""

    msgid: str
    recipient: str
    content: str
    sender: str
    unicode: bool
    request_id: str
    sid: str


@attrs.define
class MobifoneSimulator:
    username: str = "langson"
    password: str = "mobi-secret-1"
    session_sends: int | None = None
    fail_every: int = 0
    throttle_every: int = 0
    http_throttle_every: int = 0
    retry_after: float = 0.05
    hang_every: int = 0
    hang_seconds: float = 1.0
    delay: float = 0.0
    not_subscribers: set[str] = attrs.Factory(set)
    invalid: set[str] = attrs.Factory(set)
    login_status: str = "0"
    send_status: str | None = None
    honour_request_id: bool = True
    path: str = "/smsbn/api"
    # -- what happened --------------------------------------------------------------------
    accepted: list[Accepted] = attrs.Factory(list)
    logins: int = 0
    refused_logins: int = 0
    sends: int = 0
    replays: int = 0
    expired_answers: int = 0
    requests: list[dict[str, str]] = attrs.Factory(list)
    port: int = 0
    _sessions: dict[str, int] = attrs.Factory(dict)
    _by_request: dict[str, str] = attrs.Factory(dict)
    _ids: Any = attrs.Factory(lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def expire_sessions(self) -> None:
        """Every session id given so far is expired from now on."""
        self._sessions.clear()

    def duplicates(self) -> dict[str, int]:
        """Recipients accepted more than once."""
        seen = Counter(a.recipient for a in self.accepted)
        return {k: v for k, v in seen.items() if v > 1}

    async def _form(self, request: web.Request) -> dict[str, str]:
        data = await request.post()
        form = {k: str(v) for k, v in data.items()}
        self.requests.append(form)
        return form

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        if form.get("userName") != self.username or form.get("password") != self.password:
            self.refused_logins += 1
            return web.Response(status=401, text="InvalidLogin")
        if self.login_status != "0":
            self.refused_logins += 1
            return web.json_response({"status": self.login_status, "desc": "account locked"})
        self.logins += 1
        sid = f"SID{self.logins:04d}x{id(self) % 9973}"
        self._sessions[sid] = 0
        return web.json_response({"status": "0", "sid": sid})

    async def _send(self, request: web.Request) -> web.StreamResponse:
        unicode = request.path.endswith("send_2.jsp")
        form = await self._form(request)
        self.sends += 1
        n = self.sends
        if self.delay:
            await asyncio.sleep(self.delay)
        sid = form.get("sid", "")
        used = self._sessions.get(sid)
        if used is None or (self.session_sends is not None and used >= self.session_sends):
            self._sessions.pop(sid, None)
            self.expired_answers += 1
            return web.Response(status=401, text="SessionExpired")
        self._sessions[sid] = used + 1
        if self.fail_every and n % self.fail_every == 0:
            return web.json_response({"error": "down"}, status=503)
        if self.http_throttle_every and n % self.http_throttle_every == 0:
            return web.json_response({"error": "slow down"}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        if self.hang_every and n % self.hang_every == 0:
            await asyncio.sleep(self.hang_seconds)
        if self.throttle_every and n % self.throttle_every == 0:
            return web.json_response({"status": "5", "desc": "throttled"})
        if self.send_status is not None:
            return web.json_response({"status": self.send_status, "desc": "refused"})
        if unicode and form.get("enCoding") != "ALPHA_UCS2":
            return web.json_response({"status": "4", "desc": "send_2.jsp needs enCoding"})
        recipient = form.get("recipient", "")
        if not recipient.startswith("84") or not recipient.isdigit() or recipient in self.invalid:
            return web.json_response({"status": "2", "desc": "invalid recipient"})
        if recipient in self.not_subscribers:
            return web.json_response({"status": "3", "desc": "not a MobiFone subscriber"})
        request_id = form.get("requestId", "")
        if self.honour_request_id and request_id in self._by_request:
            self.replays += 1
            return web.json_response({"status": "1", "msgid": self._by_request[request_id],
                                      "desc": "duplicate requestId"})
        msgid = f"MBF{next(self._ids)}"
        self._by_request[request_id] = msgid
        self.accepted.append(Accepted(msgid, recipient, form.get("content", ""),
                                      form.get("sender", ""), unicode, request_id, sid))
        return web.json_response({"status": "0", "msgid": msgid})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(f"{self.path}/login.jsp", self._login)
        app.router.add_post(f"{self.path}/send.jsp", self._send)
        app.router.add_post(f"{self.path}/send_2.jsp", self._send)
        self._runner, self.port = await serve_loopback(app, port=self.port)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
