"""A loopback Zalo for tests: the ZNS template API and the OAuth v4 token endpoint,
aiohttp on 127.0.0.1.

``ZaloSimulator`` plays single-use refresh tokens the way this plugin assumes them
(README): refreshing with the current refresh token ``R1`` issues a new pair
``A2``/``R2``; ``R1`` stays good until ``A2`` or ``R2`` is first used, and from then on
it is refused (error -14014) — so a client that uses ``A2`` before saving ``R2``, and
then loses ``R2``, is locked out (``locked_out``).  Refreshing with ``R1`` again before
that issues a new pair and voids the unused one.

Faults: HTTP 503 every ``fail_every``-th send, error -32 (rate limited) every
``throttle_every``-th, HTTP 429 with ``Retry-After`` every ``http_throttle_every``-th, a
hang of ``hang_seconds`` every ``hang_every``-th, access tokens that expire after
``access_sends`` sends (or at once with ``expire_tokens()``), ``no_zalo`` numbers
(-118), ``refusing`` numbers (-139), ``invalid`` numbers (-108), templates not in
``templates`` (-131), every send answered ``send_error``, the token endpoint answering
HTTP ``oauth_status``, refresh answers without ``expires_in`` (``expires_in=None``).  A repeated ``tracking_id``
is answered with its first ``msg_id`` (``honour_tracking_id``; off: sent again, a
duplicate).  ``accepted`` lists what it took::

    async with ZaloSimulator(refresh_token="R0") as sim:
        ...  # a ZnsGateway with url = sim.url, oauth_url = sim.oauth_url
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from typing import Any, Self

import attrs
from aiohttp import web

from langson_comms.testing.loopback import serve_loopback

__all__ = ["ZaloSimulator", "ZnsAccepted"]


@attrs.frozen
class ZnsAccepted:
    msg_id: str
    phone: str
    template_id: str
    template_data: dict[str, str]
    tracking_id: str
    access_token: str


@attrs.define
class ZaloSimulator:
    app_id: str = "4321"
    app_secret: str = "zalo-app-secret-9"
    refresh_token: str = "refresh-0"
    access_token: str | None = None
    access_sends: int | None = None
    templates: set[str] = attrs.Factory(lambda: {"231456"})
    fail_every: int = 0
    throttle_every: int = 0
    http_throttle_every: int = 0
    retry_after: float = 0.05
    hang_every: int = 0
    hang_seconds: float = 1.0
    delay: float = 0.0
    no_zalo: set[str] = attrs.Factory(set)
    refusing: set[str] = attrs.Factory(set)
    invalid: set[str] = attrs.Factory(set)
    send_error: int | None = None
    honour_tracking_id: bool = True
    #: the token endpoint answers this HTTP status instead (a fault)
    oauth_status: int | None = None
    #: ``expires_in`` of a refresh answer; None leaves it out
    expires_in: str | None = "90000"
    # -- what happened --------------------------------------------------------------------
    accepted: list[ZnsAccepted] = attrs.Factory(list)
    refreshes: int = 0
    refused_refreshes: int = 0
    sends: int = 0
    replays: int = 0
    token_refusals: int = 0
    port: int = 0
    _pending: tuple[str, str] | None = None
    _access: dict[str, int] = attrs.Factory(dict)
    _by_tracking: dict[str, str] = attrs.Factory(dict)
    _ids: Any = attrs.Factory(lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    def __attrs_post_init__(self) -> None:
        if self.access_token is not None:
            self._access[self.access_token] = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/zns"

    @property
    def oauth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v4/oa/access_token"

    @property
    def locked_out(self) -> bool:
        """True once a refresh was refused: the account needs a person to authorise again."""
        return self.refused_refreshes > 0

    def current_refresh_token(self) -> str:
        return self.refresh_token

    def expire_tokens(self) -> None:
        self._access.clear()

    def duplicates(self) -> dict[str, int]:
        seen = Counter(a.phone for a in self.accepted)
        return {k: v for k, v in seen.items() if v > 1}

    def _promote(self) -> None:
        """The pending pair is used: its refresh token becomes the only good one."""
        if self._pending is not None:
            self.refresh_token = self._pending[1]
            self._pending = None

    async def _oauth(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if self.oauth_status is not None:
            return web.json_response({"error": "refused"}, status=self.oauth_status)
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return web.json_response({"error": -14002, "error_name": "Invalid app secret"})
        given = str(form.get("refresh_token", ""))
        if self._pending is not None and given == self._pending[1]:
            self._promote()
        if given != self.refresh_token or form.get("grant_type") != "refresh_token":
            self.refused_refreshes += 1
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        if self._pending is not None:  # R1 again before the pair was used: void that pair
            self._access.pop(self._pending[0], None)
        self.refreshes += 1
        pair = (f"access-{self.refreshes}x{self.port}", f"refresh-{self.refreshes}x{self.port}")
        self._pending = pair
        self._access[pair[0]] = 0
        answer = {"access_token": pair[0], "refresh_token": pair[1]}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)

    async def _send(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.sends += 1
        n = self.sends
        if self.delay:
            await asyncio.sleep(self.delay)
        token = request.headers.get("access_token", "")
        if self._pending is not None and token == self._pending[0]:
            self._promote()
        used = self._access.get(token)
        if used is None or (self.access_sends is not None and used >= self.access_sends):
            self._access.pop(token, None)
            self.token_refusals += 1
            return web.json_response({"error": -124, "message": "Access token is invalid"})
        self._access[token] = used + 1
        if self.fail_every and n % self.fail_every == 0:
            return web.json_response({"error": "down"}, status=503)
        if self.http_throttle_every and n % self.http_throttle_every == 0:
            return web.json_response({"error": "slow"}, status=429,
                                     headers={"Retry-After": str(self.retry_after)})
        if self.hang_every and n % self.hang_every == 0:
            await asyncio.sleep(self.hang_seconds)
        if self.throttle_every and n % self.throttle_every == 0:
            return web.json_response({"error": -32, "message": "Exceeded the request limit"})
        if self.send_error is not None:
            return web.json_response({"error": self.send_error, "message": "refused"})
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"error": -100, "message": "body is not JSON"})
        phone = str(body.get("phone", ""))
        if not phone.startswith("84") or not phone.isdigit() or phone in self.invalid:
            return web.json_response({"error": -108, "message": "Phone number is invalid"})
        if body.get("template_id") not in self.templates:
            return web.json_response({"error": -131, "message": "Template is not approved"})
        if phone in self.no_zalo:
            return web.json_response({"error": -118, "message": "Zalo account does not exist"})
        if phone in self.refusing:
            return web.json_response({"error": -139, "message": "User refused to receive ZNS"})
        tracking = str(body.get("tracking_id", ""))
        if self.honour_tracking_id and tracking in self._by_tracking:
            self.replays += 1
            return web.json_response({"error": 0, "message": "Success",
                                      "data": {"msg_id": self._by_tracking[tracking]}})
        msg_id = f"zns{next(self._ids)}"
        self._by_tracking[tracking] = msg_id
        data = body.get("template_data")
        self.accepted.append(ZnsAccepted(msg_id, phone, str(body.get("template_id")),
                                         dict(data) if isinstance(data, dict) else {},
                                         tracking, token))
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"msg_id": msg_id, "sent_time": "1656640800000"}})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v4/oa/access_token", self._oauth)
        app.router.add_post("/zns/message/template", self._send)
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
