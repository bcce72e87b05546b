"""Benchmark: the sign-up webhook receiver under single-event requests on loopback.

Target (issue 9): at least 2,000 events/s of single-event requests from a loopback load
generator, with durable storage and nothing lost (events in the store = 2xx answers).

The receiver is the real command, ``langson-comms signups serve hook --port 0``, in its
own process, on a fresh SQLite store (WAL, the store's own settings).  The load
generator is a second process: an aiohttp client keeping ``--concurrency`` requests in
flight, each one event (with a phone number, a team code) signed with HMAC-SHA256 over
``"<timestamp>.<body>"``; bodies are signed before the clock starts.  Afterwards the
receiver is stopped with SIGTERM and the store is counted.

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


def generate(url: str, requests: int, concurrency: int, out: Any) -> None:
    """The load generator (a child process): send, count answers, put the result on ``out``."""
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


def run(requests: int, concurrency: int) -> dict[str, Any]:
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
        cpu_before = os.times()
        out: Any = mp.get_context("spawn").Queue()
        gen = mp.get_context("spawn").Process(target=generate, args=(url, requests, concurrency, out))
        gen.start()
        result = out.get()
        gen.join()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        cpu_after = os.times()
        db = sqlite3.connect(folder / "signups.sqlite")
        stored = db.execute("SELECT count(*) FROM signups").fetchone()[0]
        db.close()
    ok = sum(n for status, n in result["statuses"].items() if 200 <= status < 300)
    result.update(stored=stored, ok=ok, rate=ok / result["elapsed"],
                  receiver_cpu=(cpu_after.children_user + cpu_after.children_system
                                - cpu_before.children_user - cpu_before.children_system))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    results = []
    for _ in range(args.repeat):
        r = run(args.requests, args.concurrency)
        results.append(r)
        lost = r["ok"] - r["stored"]
        print(f"{args.requests:,} single-event requests, concurrency {args.concurrency}: "
              f"{r['ok']:,} × 2xx in {r['elapsed']:.2f} s = {r['rate']:,.0f} events/s; "
              f"stored {r['stored']:,} (lost {lost}); other answers {dict(sorted(r['statuses'].items()))}, "
              f"client errors {r['errors']}; CPU of both children {r['receiver_cpu']:.1f} s")
    if args.json:
        print(json.dumps(results))
    if any(r["ok"] != r["stored"] or r["ok"] != args.requests for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
