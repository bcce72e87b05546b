"""A carrier (or a proxy in front of it) that answers with an endless body, or drips it
a byte at a time, cannot take the sender's memory or hold a request past its
``timeout``: every client ``make_http_client`` builds stops reading at
``MAX_ANSWER_BYTES`` and at ``timeout`` seconds for the whole answer, as a
``TransientGatewayError``.  Real servers on 127.0.0.1; both transports."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

from langson_comms.config import ConfigContext
from langson_comms.errors import TransientGatewayError
from langson_comms.sms.gateway import MAX_ANSWER_BYTES, OutgoingSms
from langson_comms.sms.http_gateway import GenericHttpGateway

from .helpers import serve


async def _endless(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * 65536
    for _ in range(MAX_ANSWER_BYTES * 8 // len(chunk)):  # 8 times the limit, then stop
        await response.write(chunk)
    await response.write(b"{}")
    return response


async def _drip(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    for _ in range(40):  # 4 s of one byte every 0.1 s: each read is quick, the whole is not
        await response.write(b" ")
        await asyncio.sleep(0.1)
    await response.write(b"{}")
    return response


async def _send(handler: object, transport: str, timeout: float) -> tuple[BaseException | None, float]:
    runner, base = await serve(handler)  # type: ignore[arg-type]
    gateway = GenericHttpGateway.from_config(
        {"url": base + "/send", "timeout": timeout, "transport": transport},
        ConfigContext("campaign.toml", Path("."), "channels.sms.gateways.agg"))
    client = gateway.make_client()
    gateway.bind_client(client)
    started = time.monotonic()
    try:
        await asyncio.wait_for(gateway.send([OutgoingSms(1, "+84912345678", "x")]), 20)
    except BaseException as exc:  # the test inspects whatever came out
        return exc, time.monotonic() - started
    finally:
        await client.aclose()
        await runner.cleanup()
    return None, time.monotonic() - started


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_an_endless_answer_is_cut_at_the_limit(transport: str) -> None:
    error, _ = asyncio.run(_send(_endless, transport, timeout=10.0))
    assert isinstance(error, TransientGatewayError), repr(error)
    assert f"larger than {MAX_ANSWER_BYTES:,} bytes" in str(error)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_dripping_answer_ends_at_the_timeout(transport: str) -> None:
    error, seconds = asyncio.run(_send(_drip, transport, timeout=0.5))
    assert isinstance(error, TransientGatewayError), repr(error)
    assert "timeout" in str(error)
    assert seconds < 2.0
