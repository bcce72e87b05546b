"""Benchmark: the sign-up webhook receiver under single-event requests on loopback.

Target (issue 9): at least 2,000 events/s of single-event requests from a loopback load
generator, with durable storage and nothing lost (events in the store = 2xx answers).

The receiver is the real command, ``langson-comms signups serve hook --port 0``, in its
own process, on a fresh SQLite store (WAL, the store's own settings).  The load
generator is a second process keeping ``--concurrency`` requests in flight on keep-alive
connections (``--client raw``, the default: HTTP/1.1 written by hand on asyncio streams,
so the generator leaves the CPU to the receiver; ``--client aiohttp``: aiohttp's
client), each request one event (with a phone number, a team code) signed with
HMAC-SHA256 over ``"<timestamp>.<body>"``; bodies are signed before the clock starts.
Afterwards the receiver is stopped with SIGTERM and the store is counted.  Besides the
rate, it prints the receiver's CPU time per request (from /proc, startup excluded): on a
shared machine the wall rate is bounded by the CPU the receiver gets.

    uv run python benchmarks/bench_webhook.py                  # 20,000 requests
    uv run python benchmarks/bench_webhook.py --requests 50000 --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECRET = "bench-secret-0123456789abcdef"
CAMPAIGN = """
[campaign]
id = "bench-webhook"
title = "Webhook benchmark"
start = 2022-06-10
end = 2030-12-31

[signups]
store = "signups.sqlite"

[signups.hook]
kind = "webhook"
platform = "voso"
secret_env = "BENCH_HOOK_SECRET"
default_kind = "seller_registered"
"""
PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "086", "088", "092")
CLI = str(Path(sys.executable).parent / "langson-comms")


async def _raw_worker(host: str, port: int, path: str, queue: Any, statuses: dict[int, int]) -> int:
    """One keep-alive HTTP/1.1 connection written by hand (a cheap client leaves the CPU to
    the receiver); returns the number of failed requests."""
    reader, writer = await asyncio.open_connection(host, port)
    failed = 0
    try:
        for body, headers in queue:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
            answer = await reader.readuntil(b"\r\n\r\n")
            status = int(answer.split(b" ", 2)[1])
            length = 0
            for line in answer.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            statuses[status] = statuses.get(status, 0) + 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        failed += 1
    finally:
        writer.close()
    return failed


def generate(url: str, requests: int, concurrency: int, out: Any, client: str = "raw") -> None:
    """The load generator (a child process): send, count answers, put the result on ``out``."""
    from urllib.parse import urlsplit

    import aiohttp

    from langson_comms.signups.signature import signed_headers

    now = int(time.time())
    prepared = []
    for i in range(requests):
        body = json.dumps({"external_id": f"B-{i}", "occurred_at": "2022-07-01T08:00:00+07:00",
                           "phone": f"{PREFIXES[i % 10]}{i:07d}", "team_code": "T1"}).encode()
        prepared.append((body, signed_headers(SECRET.encode(), now, body)))

    async def main() -> dict[str, Any]:
        statuses: dict[int, int] = {}
        errors = 0
        queue = iter(prepared)
        if client == "raw":
            parts = urlsplit(url)
            start = time.perf_counter()
            failed = await asyncio.gather(*(_raw_worker(parts.hostname or "127.0.0.1", parts.port or 80, parts.path,
                                                        queue, statuses) for _ in range(concurrency)))
            return {"statuses": statuses, "errors": sum(failed), "elapsed": time.perf_counter() - start}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal errors
                for body, headers in queue:
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            await response.read()
                            statuses[response.status] = statuses.get(response.status, 0) + 1
                    except aiohttp.ClientError:
                        errors += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        return {"statuses": statuses, "errors": errors, "elapsed": elapsed}

    out.put(asyncio.run(main()))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(requests: int, concurrency: int, client: str = "raw") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
        env = {**os.environ, "BENCH_HOOK_SECRET": SECRET, "LANGSON_COMMS_PSEUDONYM_KEY": "b" * 32}
        server = subprocess.Popen([CLI, "signups", "serve", "hook", "-c", str(folder / "campaign.toml"),
                                   "--port", "0"], env=env, stderr=subprocess.PIPE, text=True)
        assert server.stderr is not None
        line = server.stderr.readline()
        if not line.startswith("listening on "):
            server.kill()
            raise SystemExit(f"the receiver did not start: {line}{server.stderr.read()}")
        url = line.split()[2]
        startup_cpu = _cpu_seconds(server.pid)  # imports, campaign, store: not per request
        cpu_before = os.times()
        out: Any = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(target=generate, args=(url, requests, concurrency, out, client))
        gen.start()
        result = out.get()
        gen.join()
        server_cpu = _cpu_seconds(server.pid) - startup_cpu
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        cpu_after = os.times()
        db = sqlite3.connect(folder / "signups.sqlite")
        stored = db.execute("SELECT count(*) FROM signups").fetchone()[0]
        db.close()
    ok = sum(n for status, n in result["statuses"].items() if 200 <= status < 300)
    result.update(stored=stored, ok=ok, rate=ok / result["elapsed"], server_cpu=server_cpu,
                  receiver_cpu=(cpu_after.children_user + cpu_after.children_system
                                - cpu_before.children_user - cpu_before.children_system))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw",
                        help="raw: keep-alive HTTP/1.1 written by hand (cheap); aiohttp: its client")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    results = []
    for _ in range(args.repeat):
        r = run(args.requests, args.concurrency, args.client)
        results.append(r)
        lost = r["ok"] - r["stored"]
        print(f"{args.requests:,} single-event requests, concurrency {args.concurrency}, {args.client} client: "
              f"{r['ok']:,} × 2xx in {r['elapsed']:.2f} s = {r['rate']:,.0f} events/s; "
              f"stored {r['stored']:,} (lost {lost}); other answers {dict(sorted(r['statuses'].items()))}, "
              f"client errors {r['errors']}; receiver CPU {r['server_cpu']:.1f} s "
              f"({r['server_cpu'] / max(r['ok'], 1) * 1e6:,.0f} µs per request, "
              f"{max(r['ok'], 1) / max(r['server_cpu'], 1e-9):,.0f} requests per CPU-second); "
              f"receiver + generator CPU {r['receiver_cpu']:.1f} s")
    if args.json:
        print(json.dumps(results))
    if any(r["ok"] != r["stored"] or r["ok"] != args.requests for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
