"""``langson_comms.testing.loopback``: the generic part of a plugin's carrier simulator
(served from a thread, or on its own loop) and of its kill -9 test."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from aiohttp import web

from langson_comms.testing import ServerThread, ThreadedServer, kill_sender, serve_loopback
from langson_comms.testing.loopback import Throttle

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")


@attrs.define
class EchoServer:
    port: int = 0
    seen: list[str] = attrs.Factory(list)
    fail_start: bool = False
    _runner: web.AppRunner | None = None

    async def _echo(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(await request.text())
        return web.Response(text="ok")

    async def start_async(self) -> EchoServer:
        if self.fail_start:
            raise OSError("cannot listen")
        app = web.Application()
        app.router.add_post("/echo", self._echo)
        self._runner, self.port = await serve_loopback(app, port=self.port)
        return self

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None



@attrs.define
class ThreadedEcho(EchoServer, ThreadedServer):
    thread_name = "echo-server"


@attrs.define
class AsyncEcho(EchoServer):
    """With the coroutine ``start``/``stop`` of an ``async with`` simulator."""

    async def start(self) -> Any:
        return await self.start_async()

    async def stop(self) -> None:
        await self.stop_async()


class PlainServer(ThreadedServer):
    """A ThreadedServer without attrs, as the core's CarrierSimulator is."""

    thread_name = "plain-server"

    def __init__(self) -> None:
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start_async(self) -> PlainServer:
        self._runner, self.port = await serve_loopback(web.Application())
        return self

    async def stop_async(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_a_threaded_server_serves_from_its_thread_and_stops() -> None:
    server = PlainServer()
    with server:
        assert not _refused(server.port)
    assert _refused(server.port)
    server.stop()  # a second stop does nothing


def test_serving_from_a_thread_and_a_start_error_reaches_the_caller() -> None:
    with ThreadedEcho() as sim:
        answer = httpx.post(f"http://127.0.0.1:{sim.port}/echo", content="hello", timeout=5)
        assert answer.text == "ok" and sim.seen == ["hello"]
    with pytest.raises(OSError, match="cannot listen"), ThreadedEcho(fail_start=True):
        pass


def test_a_server_thread_runs_an_async_simulator_and_reads_it_on_its_loop() -> None:
    with ServerThread(AsyncEcho(), name="test-echo") as running:
        port = running.server.port
        httpx.post(f"http://127.0.0.1:{port}/echo", content="a", timeout=5)
        assert running.read(lambda s: list(s.seen)) == ["a"]
        assert running.call(lambda: asyncio.sleep(0, "done")) == "done"
    assert _refused(port)
    with pytest.raises(RuntimeError, match="not running"):
        running.read(lambda s: s.seen)
    with pytest.raises(OSError, match="cannot listen"), ServerThread(AsyncEcho(fail_start=True)):
        pass


@posix_only
def test_kill_sender_kills_a_running_process_once_the_condition_holds(tmp_path: Path) -> None:
    start = time.monotonic()
    printed = kill_sender(["sms", "simulator", "--port", "0"], cwd=tmp_path,
                          until=lambda: time.monotonic() - start > 0.5, timeout=60)
    assert isinstance(printed, str)


@posix_only
def test_kill_sender_fails_when_the_process_ended_by_itself_or_made_no_progress(
        tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"ended by itself \(exit code 0\)"):
        kill_sender(["--help"], cwd=tmp_path, until=lambda: False, timeout=60)
    with pytest.raises(AssertionError, match="made no progress in 1 s"):
        kill_sender(["sms", "simulator", "--port", "0"], cwd=tmp_path, until=lambda: False,
                    timeout=1)


def test_the_throttle_answers_every_nth_request_and_above_the_rate() -> None:
    every = Throttle()
    assert [n for n in range(1, 13) if every.throttled(n, every=4)] == [4, 8, 12]
    assert not any(every.throttled(n) for n in range(1, 50))  # no every, no rate: never
    now = [100.0]
    rated = Throttle(clock=lambda: now[0])  # 10/s: a bucket of 2 requests
    assert [rated.throttled(n, rate=10) for n in range(1, 4)] == [False, True, True]
    now[0] += 0.15  # a bit over one request's worth of time
    assert [rated.throttled(n, rate=10) for n in range(4, 6)] == [False, True]
    now[0] += 60  # idle: the bucket holds 2, not 600
    assert [rated.throttled(n, rate=10) for n in range(6, 9)] == [False, False, True]
