"""What our HTTP endpoints (delivery reports, as-run confirmations) share to keep the door
shut: loopback checks, JSON bodies read with a size and depth guard, and a runner whose
answers to malformed HTTP never echo the request.

aiohttp answers a request it cannot parse (a header line ending in a lone CR, say) with a
400 whose body, and whose ``aiohttp.server`` log line, quote the offending bytes -- a
token included.  ``QuietAppRunner`` serves an application like ``web.AppRunner`` but
answers such requests with a fixed text and logs only the kind of error, scrubbed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

__all__ = ["BodyProblem", "QuietAppRunner", "is_loopback", "parse_json"]

log = logging.getLogger(__name__)

#: JSON nesting deeper than this is refused (our bodies are three levels deep)
MAX_DEPTH = 32


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class BodyProblem(ValueError):
    """A request body that cannot be read: the text says what was expected."""


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            break
        nxt: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                nxt.extend(item.values())
            elif isinstance(item, list):
                nxt.extend(item)
        level = nxt
    return depth


def parse_json(raw: bytes) -> Any:
    """Decode a UTF-8 JSON body; ``BodyProblem`` for bad bytes, bad JSON, or nesting
    deeper than ``MAX_DEPTH``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyProblem(f"the body is not UTF-8 (byte {exc.start + 1} is not valid)") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise BodyProblem(f"the JSON body is nested too deep (at most {MAX_DEPTH} levels)"
                          ) from None
    except json.JSONDecodeError as exc:
        raise BodyProblem(f"the body is not JSON: {exc.msg} at line {exc.lineno} column "
                          f"{exc.colno}") from None
    if _depth(value) > MAX_DEPTH:
        raise BodyProblem(f"the JSON body is nested too deep (at most {MAX_DEPTH} levels)")
    return value


_MALFORMED = "400 Bad Request: malformed HTTP request\n"


class _QuietHandler(RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status == 500:  # a bug of ours: the traceback (log filters scrub secrets)
            log.error("request from %s failed", request.remote, exc_info=exc)
        else:  # the kind of error only: aiohttp's message quotes the request's bytes
            log.warning("malformed HTTP request from %s (%s)", request.remote,
                        type(exc).__name__ if exc else status)
        if request.writer.output_size > 0:
            raise ConnectionError("response already sent, cannot send an error")
        text = _MALFORMED if status == 400 else f"{status} request failed\n"
        response = web.Response(status=status, text=text, content_type="text/plain")
        response.force_close()
        return response


class _QuietServer(Server):
    def __call__(self) -> RequestHandler:
        return _QuietHandler(self, loop=self._loop, **self._kwargs)


class QuietAppRunner(web.AppRunner):
    """``web.AppRunner`` whose error answers never quote the request (see the module)."""

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        server.__class__ = _QuietServer
        return server
