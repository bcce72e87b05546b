"""A gateway URL that answers with a redirect (http moved to https, an API moved) is the
campaign file's mistake: the run stops with the rows still queued (a status of
``FATAL_STATUSES``), for the built-in gateway and each carrier plugin — never every row
``failed`` (VNPT, generic_http with a JSON body) or retried to "gave up" (the others)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from langson_comms.config import ConfigContext
from langson_comms.errors import GatewayError, PermanentGatewayError
from langson_comms.sms.gateway import FATAL_STATUSES, OutgoingSms, SmsGateway
from langson_comms.sms.http_gateway import GenericHttpGateway

from .helpers import serve

ENV = {"P": "s3cret-pass", "Z": "zalo-secret"}


def _build(kind: str, base: str, folder: Path) -> SmsGateway:
    ctx = ConfigContext("campaign.toml", folder, f"channels.sms.gateways.{kind}")
    if kind == "generic_http":
        return GenericHttpGateway.from_config({"url": base + "/send", "timeout": 2}, ctx)
    if kind == "viettel":
        viettel = pytest.importorskip("langson_comms_viettel")
        return viettel.ViettelGateway.from_config(  # type: ignore[no-any-return]
            {"url": base + "/bulkapi", "user": "u", "cp_code": "C", "password_env": "P"}, ctx, env=ENV)
    if kind == "vnpt":
        vnpt = pytest.importorskip("langson_comms_vnpt")
        return vnpt.VnptGateway.from_config(  # type: ignore[no-any-return]
            {"url": base + "/api", "api_user": "u", "api_pass_env": "P", "agent_id": "1",
             "contract_id": "2", "template_id": "T", "username": "x"}, ctx, env=ENV)
    if kind == "mobifone":
        mobifone = pytest.importorskip("langson_comms_mobifone")
        return mobifone.MobifoneGateway.from_config(  # type: ignore[no-any-return]
            {"url": base + "/api", "username": "u", "password_env": "P"}, ctx, env=ENV)
    zns = pytest.importorskip("langson_comms_zalo.zns_gateway")
    token = folder / "tokens.json"
    old = os.umask(0o077)
    try:
        token.write_text('{"refresh_token": "r", "access_token": "a", "expires_at": %d}'
                         % (time.time() + 86400), encoding="utf-8")
    finally:
        os.umask(old)
    return zns.ZnsGateway.from_config(  # type: ignore[no-any-return]
        {"url": base + "/zns", "oauth_url": base + "/oauth", "app_id": "1", "app_secret_env": "Z",
         "token_file": str(token), "template_id": "1", "template_data": {"t": "{text}"}},
        ctx, env=ENV)


BODIES = {
    "html": (b"<html><body>301 Moved Permanently</body></html>", "text/html"),
    "answer": (b'{"status": "0", "error": 0, "RPLY": {"ERROR": "0"}}', "application/json"),
}


async def _send(kind: str, body: str, folder: Path) -> BaseException | None:
    content, content_type = BODIES[body]

    async def moved(request: web.Request) -> web.StreamResponse:
        await request.read()
        return web.Response(status=301, body=content, content_type=content_type.split(";")[0],
                            headers={"Location": "https://127.0.0.1:1/elsewhere"})

    runner, base = await serve(moved)
    gateway = _build(kind, base, folder)
    client = gateway.make_client()
    gateway.bind_client(client)
    try:
        results: Any = await asyncio.wait_for(
            gateway.send([OutgoingSms(1, "+84912345678", "x", idempotency_key="k1")]), 10)
        return next((r.error for r in results if r.error is not None), None)
    except GatewayError as exc:
        return exc
    finally:
        await client.aclose()
        await runner.cleanup()


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("kind", ["generic_http", "viettel", "vnpt", "mobifone", "zns"])
def test_a_redirect_stops_the_run(kind: str, body: str, tmp_path: Path) -> None:
    error = asyncio.run(_send(kind, body, tmp_path))
    assert isinstance(error, PermanentGatewayError), repr(error)
    assert error.status in FATAL_STATUSES, repr(error)
    assert "301" in str(error) and "url" in str(error)
