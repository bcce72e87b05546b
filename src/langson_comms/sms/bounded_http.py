"""Answers of a bounded size and time: a transport wrapper for the gateways' HTTP clients.

A carrier's API answers in a few hundred bytes.  A broken proxy, a captive portal or a
hostile server may instead send an endless body, or drip one byte just before each read
timeout: httpx's ``timeout`` bounds each read, not the whole answer, and ``.content``
keeps everything in memory.  Every client ``make_http_client`` builds wraps its
transport in ``BoundedTransport``: the body of an answer stops at ``max_bytes`` (a
``Content-Length`` above it is refused before reading) and at ``timeout`` seconds after
the request was sent, both as transport errors the gateways already turn into
``TransientGatewayError`` (``transport_error``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

__all__ = ["MAX_ANSWER_BYTES", "AnswerTooLarge", "BoundedTransport"]

#: the largest answer body a gateway's client reads (8 MiB: polled delivery reports
#: included); larger answers are a transient error
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class AnswerTooLarge(httpx.ReadError):
    """An answer body over the limit (a transport error: transient)."""


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, max_bytes: int, deadline: float,
                 timeout: float, request: httpx.Request) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._timeout = timeout
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        chunks = self._inner.__aiter__()
        total = 0
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise httpx.ReadTimeout(
                    f"the answer took more than {self._timeout:g} s "
                    f"({loop.time() - self._deadline + self._timeout:.1f} s)",
                    request=self._request) from None
            total += len(chunk)
            if total > self._max_bytes:
                raise AnswerTooLarge(f"the answer is larger than {self._max_bytes:,} bytes",
                                     request=self._request)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedTransport(httpx.AsyncBaseTransport):
    """``inner``, with every answer body limited to ``max_bytes`` and to ``timeout``
    seconds from the request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_bytes: int = MAX_ANSWER_BYTES,
                 timeout: float) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._timeout = timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = asyncio.get_running_loop().time() + self._timeout
        response = await self._inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            await response.aclose()
            raise AnswerTooLarge(f"the answer is larger than {self._max_bytes:,} bytes "
                                 f"(Content-Length {int(declared):,})", request=request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _BoundedStream(stream, self._max_bytes, deadline, self._timeout, request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
