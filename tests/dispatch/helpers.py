"""Building engines against the simulator for tests."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from langson_comms.clock import Clock
from langson_comms.messages import Message
from langson_comms.sms.engine import DispatchEngine, DispatchSummary, RetryPolicy, Routing
from langson_comms.sms.http_gateway import GenericHttpConfig, GenericHttpGateway
from langson_comms.sms.ledger import Ledger, SmsState
from langson_comms.testing.simulator import CarrierSimulator

#: The ``langson-comms`` script of this environment, for tests that run it as a process.
CLI = str(Path(sys.executable).parent / "langson-comms")


def free_port() -> int:
    """A port free now, that someone else may take before it is used: prefer a server on
    port 0 that says its port (``announced_port``); this is for ports nothing listens on
    in the test, or a command that must be given one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[str, str]:
    """Wait for ``proc`` (a server told to stop) to end: what is left of its stdout and
    stderr, read through its streams; ``communicate`` reads the pipes beneath them and
    misses lines ``announced_port`` had already buffered. For quiet servers only (it
    reads after the end: a pipe filled meanwhile would block the process)."""
    proc.wait(timeout=timeout)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    proc.communicate()  # closes the pipes
    return out, err


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port of 127.0.0.1 that refuses connections for as long as the block runs: bound
    (so no other test or process can take it meanwhile, as a ``free_port`` can be) but
    not listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


def announced_port(stream: IO[str], announcement: str, *,
                   timeout: float = 60.0) -> tuple[int, list[str]]:
    """Read a child process's ``stream`` until the line holding ``announcement`` (a
    server's "listening on http://127.0.0.1:PORT…", printed once it listens): that PORT,
    and every line read. Fails after ``timeout`` seconds (generous: a loaded machine can
    take 20 s to start a command) or at the end of the stream."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in iter(stream.readline, ""):
            lines.put(line)
            if announcement in line:
                return
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {announcement!r} within {timeout} s: {seen}") from None
        if not line:
            raise AssertionError(f"the process ended before {announcement!r}: {seen}")
        seen.append(line)
        if announcement in line:
            match = re.search(r"//127\.0\.0\.1:(\d+)", line)
            assert match, line
            return int(match.group(1)), seen


async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                ) -> tuple[web.AppRunner, str]:
    """A vendor API on 127.0.0.1 answering every path with ``handler``: (runner to clean
    up, base URL)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


NOTICE = Message("m", "Thong bao: tai ung dung Cong dan so Xu Lang",
                 classification="public_notice", classified_by="So TT&TT")


def gateway(sim: CarrierSimulator, gid: str = "sim", **config: Any) -> GenericHttpGateway:
    # A generous timeout: on a loaded machine a local answer can take longer than 0.3 s,
    # and a timed-out request is resent (a second carrier message, a duplicate report).
    # A test about timeouts passes its own (with a simulator that holds answers back).
    options: dict[str, Any] = {"url": sim.url, "timeout": 5.0, "supports_idempotency": True}
    if config.get("max_batch", 1) > 1:
        options["batch_url"] = sim.batch_url
    options.update(config)
    return GenericHttpGateway(gid, GenericHttpConfig(**options))


async def run_engine(ledger: Ledger, gateways: Mapping[str, GenericHttpGateway],
                     routing: Routing | None = None, *, message: Message = NOTICE,
                     clock: Clock | None = None, **options: Any) -> DispatchSummary:
    clients = []
    for gw in gateways.values():
        client = gw.make_client()
        gw.bind_client(client)
        clients.append(client)
    options.setdefault("retry", RetryPolicy(max_attempts=12, base_delay=0.02, max_delay=0.5))
    options.setdefault("breaker_reset", 0.3)
    engine = DispatchEngine(ledger, gateways, routing or Routing(default=next(iter(gateways))),
                            campaign="c", message=message, clock=clock, **options)
    try:
        return await engine.run()
    finally:
        for client in clients:
            await client.aclose()


async def wait_for_reports(ledger: Ledger, timeout: float = 30.0) -> dict[str, int]:
    """The ledger's counts once no row waits for its report, or after ``timeout`` seconds
    (generous: a loaded machine posts hundreds of reports slowly; the caller asserts)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = ledger.counts("c")
        if counts[SmsState.ACCEPTED] == 0 or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)
