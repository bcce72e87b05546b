"""The generic part of a carrier simulator and of a kill -9 test, for gateway plugins.

A plugin's simulator keeps its carrier's wire format (routes, request reading, answers,
faults); what every simulator repeats is here:

* ``serve_loopback(app)``: an aiohttp application served on 127.0.0.1 (port 0: a free
  one), returning the runner to clean up and the port;
* ``ThreadedServer``: a mixin giving a server with ``start_async()``/``stop_async()`` the
  blocking ``start()``/``stop()`` and ``with``: it is served from a daemon thread with its
  own event loop, so a test (or a sender in another process) can use it while the test
  thread blocks;
* ``ServerThread(server)``: the same for a server whose ``start()``/``stop()`` are
  coroutines (``async with`` simulators), with ``read(get)`` to read its state on its own
  loop;
* ``Throttle``: when to answer "throttled" (every n-th request, or above a rate);
* ``kill_sender(args, cwd=…, env=…, until=…)``: runs ``langson-comms sms send …`` as a
  process, kills it with SIGKILL once ``until()`` holds (the simulator took enough), and
  checks that it was the kill that ended it::

    with MySimulator(timeout=0.03) as sim:   # a ThreadedServer
        kill_sender(["sms", "send", "campaign.toml", "--audience", "prepared.csv"],
                    cwd=folder, env=env, until=lambda: len(sim.accepted_snapshot()) >= 100)
        ...  # then `sms resume` and assert sim.duplicates() == {}
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import attrs
from aiohttp import web

__all__ = ["BackgroundLoop", "ServerThread", "ThreadedServer", "Throttle", "kill_sender",
           "serve_loopback"]

T = TypeVar("T")


async def serve_loopback(app: web.Application, host: str = "127.0.0.1",
                         port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host``:``port`` (0: a free port), without an access log or signal
    handlers: ``(runner, port)``; ``await runner.cleanup()`` stops it."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, int(runner.addresses[0][1])


class BackgroundLoop:
    """An event loop running in a daemon thread named ``name``."""

    def __init__(self, name: str = "loopback-server") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        """Run the coroutine ``make()`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout)

    def close(self, last: Callable[[], Coroutine[Any, Any, Any]] | None = None,
              timeout: float = 10) -> None:
        """Run ``last()`` (a server's stop) on the loop, then stop the loop and the thread."""
        try:
            if last is not None:
                self.call(last, timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
            if not self.thread.is_alive():
                self.loop.close()


class ThreadedServer:
    """Mixin for a loopback server that defines ``start_async()`` (serve, in the running
    loop) and ``stop_async()``: ``start()`` serves it from a daemon thread with its own
    event loop (an error while starting is raised here), ``stop()`` stops it there and
    ends the thread; ``with server:`` does both.  Set ``thread_name``."""

    thread_name: ClassVar[str] = "loopback-server"
    _background: BackgroundLoop | None

    async def start_async(self) -> Any:
        raise NotImplementedError

    async def stop_async(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        background = BackgroundLoop(self.thread_name)
        try:
            background.call(self.start_async)
        except BaseException:
            background.close()
            raise
        self._background = background
        return self

    def stop(self) -> None:
        background = getattr(self, "_background", None)
        if background is not None:
            self._background = None
            background.close(self.stop_async)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AsyncServer(Protocol):
    async def start(self) -> Any: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=AsyncServer)


class ServerThread(Generic[S]):
    """``with ServerThread(server) as running:`` runs ``server.start()`` and, on leaving,
    ``server.stop()`` (coroutines) on an event loop in a daemon thread: for a simulator
    used with ``async with`` in-process, served to a sender in another process."""

    def __init__(self, server: S, name: str = "loopback-server") -> None:
        self.server = server
        self.name = name
        self._background: BackgroundLoop | None = None

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        """Run the coroutine ``make()`` on the server's loop and wait for its result."""
        if self._background is None:
            raise RuntimeError("the server is not running (use `with ServerThread(...)`)")
        return self._background.call(make, timeout)

    def read(self, get: Callable[[S], T], timeout: float = 10) -> T:
        """``get(server)`` computed on the server's loop (not while it is changing it)."""
        async def run() -> T:
            return get(self.server)

        return self.call(run, timeout)

    def __enter__(self) -> Self:
        self._background = BackgroundLoop(self.name)
        try:
            self.call(self.server.start)
        except BaseException:
            self._background.close()
            self._background = None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        background, self._background = self._background, None
        if background is not None:
            background.close(self.server.stop)


@attrs.define
class Throttle:
    """When a simulator answers "throttled": ``throttled(n, every=…, rate=…)`` is true for
    every ``every``-th request (``n`` counts them from 1; 0: never) and above ``rate``
    requests per second (a token bucket holding ``max(rate * burst, 1)`` requests; None:
    no rate).  ``every`` and ``rate`` are given per call, so a test may change them on a
    running simulator."""

    burst: float = 0.2
    clock: Callable[[], float] = time.monotonic
    _tokens: float = 1.0
    _last: float = attrs.Factory(lambda self: self.clock(), takes_self=True)

    def throttled(self, n: int, *, every: int = 0, rate: float | None = None) -> bool:
        if every and n % every == 0:
            return True
        if not rate:
            return False
        now = self.clock()
        self._tokens = min(max(rate * self.burst, 1.0), self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens < 1:
            return True
        self._tokens -= 1
        return False


def kill_sender(args: Sequence[str], *, cwd: str | os.PathLike[str],
                env: Mapping[str, str] | None = None, until: Callable[[], bool],
                timeout: float = 60) -> str:
    """Run ``langson-comms *args`` (this interpreter's ``-m langson_comms``) in ``cwd`` until
    ``until()`` holds, then kill it with SIGKILL; what it printed (stdout, then stderr).

    ``AssertionError`` when it ended by itself before the kill (it finished too early: send
    more rows or slow the simulator) or ``until()`` did not hold within ``timeout`` seconds
    (a loaded machine may take long to start a process: keep it generous)."""
    proc = subprocess.Popen([sys.executable, "-m", "langson_comms", *args], cwd=cwd,
                            env=None if env is None else dict(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    reached = False
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if until():
                reached = True
                break
            time.sleep(0.01)
    finally:
        proc.kill()
        out, err = proc.communicate(timeout=10)
    killed = -signal.SIGKILL if os.name == "posix" else proc.returncode
    if proc.returncode != killed:
        raise AssertionError(f"the sender ended by itself (exit code {proc.returncode}) before "
                             f"it was killed: {err[-2000:]}")
    if not reached:
        raise AssertionError(f"the sender made no progress in {timeout:g} s: {err[-2000:]}")
    return out + err
