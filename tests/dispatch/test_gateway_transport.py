"""Whatever a broken server sends back, the generic gateway raises the library's
``TransientGatewayError`` — never a raw aiohttp/httpx exception — with either transport.

Real TCP servers on 127.0.0.1 that answer with bytes that are not (complete) HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from langson_comms.config import ConfigContext
from langson_comms.errors import TransientGatewayError
from langson_comms.sms.gateway import OutgoingSms
from langson_comms.sms.http_gateway import GenericHttpGateway

from .helpers import refusing_port

REPLIES = {
    "not_http": b"HELLO\r\n\r\n",
    "bad_status_line": b"HTTP/1.1 abc\r\n\r\n",
    "truncated_body": b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"status"',
    "garbage_header": b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}",
    "closed": b"",
}


async def _run(reply: bytes, transport: str, what: str) -> BaseException | None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    gateway = GenericHttpGateway.from_config(
        {"url": base + "/s", "poll_url": base + "/r", "timeout": 2, "transport": transport},
        ConfigContext("campaign.toml", Path("."), "channels.sms.gateways.agg"))
    client = gateway.make_client()
    gateway.bind_client(client)
    try:
        if what == "send":
            await gateway.send([OutgoingSms(1, "+84912345678", "x")])
        else:
            await gateway.poll_reports()
    except BaseException as exc:  # the test inspects whatever came out
        return exc
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    return None


@pytest.mark.parametrize("what", ["send", "poll"])
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("reply", sorted(REPLIES))
def test_a_broken_answer_is_a_transient_gateway_error(reply: str, transport: str,
                                                      what: str) -> None:
    exc = asyncio.run(_run(REPLIES[reply], transport, what))
    assert isinstance(exc, TransientGatewayError), f"{type(exc).__module__}.{type(exc).__name__}"
    assert exc.gateway == "agg"
    assert exc.__cause__ is not None, "translated errors keep their cause (raise … from exc)"


async def _refused(port: int, transport: str, what: str) -> BaseException | None:
    base = f"http://127.0.0.1:{port}"  # nothing listens there: the connection is refused
    gateway = GenericHttpGateway.from_config(
        # a generous timeout: a stalled loaded machine must not turn "refused" into "timeout"
        {"url": base + "/s", "poll_url": base + "/r", "timeout": 30, "transport": transport},
        ConfigContext("campaign.toml", Path("."), "channels.sms.gateways.agg"))
    client = gateway.make_client()
    gateway.bind_client(client)
    try:
        if what == "send":
            await gateway.send([OutgoingSms(1, "+84912345678", "x")])
        else:
            await gateway.poll_reports()
    except BaseException as exc:  # the test inspects whatever came out
        return exc
    finally:
        await client.aclose()
    return None


@pytest.mark.parametrize("what", ["send", "poll"])
@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_refused_connection_is_a_connection_error_not_a_timeout(transport: str,
                                                                   what: str) -> None:
    """httpx-aiohttp 0.2 maps aiohttp's ClientConnectorError (refused, unreachable) to
    httpx.ConnectTimeout: the operator read "timeout" for a server that is down."""
    with refusing_port() as port:
        exc = asyncio.run(asyncio.wait_for(_refused(port, transport, what), 60))
    assert isinstance(exc, TransientGatewayError), repr(exc)
    assert str(exc).startswith("agg: connection error: "), str(exc)
    assert "timeout" not in str(exc).lower(), str(exc)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_a_server_that_does_not_answer_is_still_a_timeout(transport: str) -> None:
    async def main() -> BaseException | None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            await asyncio.sleep(5)  # never answers within the gateway's timeout

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        gateway = GenericHttpGateway.from_config(
            {"url": base + "/s", "timeout": 0.3, "transport": transport},
            ConfigContext("campaign.toml", Path("."), "channels.sms.gateways.agg"))
        client = gateway.make_client()
        gateway.bind_client(client)
        try:
            await gateway.send([OutgoingSms(1, "+84912345678", "x")])
        except BaseException as exc:
            return exc
        finally:
            await client.aclose()
            server.close()
        return None

    exc = asyncio.run(asyncio.wait_for(main(), 60))
    assert isinstance(exc, TransientGatewayError), repr(exc)
    assert str(exc).startswith("agg: timeout"), str(exc)
