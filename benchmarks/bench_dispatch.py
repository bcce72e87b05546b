"""Benchmark: the dispatch engine against a bare HTTP loop, on loopback, in one run.

(a) ``bare``: N worker tasks post the same requests (same JSON bodies, same
    ``httpx.AsyncClient`` over the same transport) straight to the simulator;
(b) ``engine``: the same messages loaded into a fresh SQLite ledger and sent by the
    ``DispatchEngine`` with routing, the compliance policies of a promotional direct send
    (``select_policies``: sending window, 3-per-24h cap counted from the ledger, ``[QC]``
    label, opt-out footer, Do-Not-Call and opt-out lists) and the generic HTTP gateway.

Both run one message per request and in batches.  The carrier simulator runs in its own
process (``python -m langson_comms.testing.simulator``); each phase runs in its own child
process so its peak RSS is its own.  Prints the rates, their ratio, the ledger load
time and peak RSS.  Figures and the machine go in docs/performance.md.

    uv run python benchmarks/bench_dispatch.py                 # 200,000 messages
    uv run python benchmarks/bench_dispatch.py --count 20000   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pendulum

TEXT = "Tai ung dung Cong dan so Xu Lang: phan anh kien nghi, dich vu cong truc tuyen."
FOOTER = "Tu choi QC soan TC gui 1234"
#: what the engine's policies make of TEXT ([QC] label, opt-out footer): the bare loop
#: posts exactly this text, so both send the same bytes
SENT_TEXT = f"[QC] {TEXT} {FOOTER}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _numbers(count: int) -> Any:
    return (f"+8491{i:07d}" for i in range(count))


class DaytimeClock:
    """Real time, shifted to 10:00 local on 2022-07-01, so the sending window is open
    whenever the benchmark runs."""

    def __init__(self) -> None:
        self._base = pendulum.datetime(2022, 7, 1, 10, 0, tz="Asia/Ho_Chi_Minh")
        self._start = time.monotonic()

    def now(self) -> pendulum.DateTime:
        return self._base.add(seconds=time.monotonic() - self._start)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


# --- (a) the bare loop -------------------------------------------------------------------


async def _bare(url: str, batch_url: str, count: int, batch: int, connections: int,
                transport: str) -> dict[str, Any]:
    from langson_comms.sms.gateway import make_http_client

    client = make_http_client(connections=connections, transport=transport, timeout=30)
    numbers = _numbers(count)
    sent = 0

    def body(msisdn: str, i: int) -> dict[str, Any]:
        return {"to": msisdn, "text": SENT_TEXT, "from": "LANGSON", "ref": str(i),
                "request_id": f"k{i}", "unicode": False}

    async def worker() -> None:
        nonlocal sent
        i = 0
        while True:
            if batch == 1:
                msisdn = next(numbers, None)
                if msisdn is None:
                    return
                i += 1
                # the same request the engine sends, idempotency header included
                response = await client.post(url, content=json.dumps(body(msisdn, i)).encode(),
                                             headers={"content-type": "application/json",
                                                      "Idempotency-Key": f"k{i}"})
                response.raise_for_status()
                if response.json()["status"] == "accepted":
                    sent += 1
            else:
                chunk = [m for _, m in zip(range(batch), numbers, strict=False)]
                if not chunk:
                    return
                payload = {"messages": [body(m, i + j) for j, m in enumerate(chunk)]}
                i += len(chunk)
                response = await client.post(batch_url, content=json.dumps(payload).encode(),
                                             headers={"content-type": "application/json"})
                response.raise_for_status()
                sent += sum(r["status"] == "accepted" for r in response.json()["results"])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    await client.aclose()
    return {"sent": sent, "seconds": elapsed}


# --- (b) the engine ----------------------------------------------------------------------


async def _engine(url: str, batch_url: str, count: int, batch: int, connections: int,
                  transport: str, workdir: str) -> dict[str, Any]:
    from langson_comms.config import ConfigContext
    from langson_comms.messages import Message
    from langson_comms.runtime import Runtime
    from langson_comms.sms.engine import DispatchEngine, Routing
    from langson_comms.sms.http_gateway import GenericHttpConfig, GenericHttpGateway
    from langson_comms.sms.ledger import Recipient, SqliteLedger
    from langson_comms.sms.policy_selection import select_policies

    ledger = SqliteLedger(Path(workdir) / f"bench-{batch}.sqlite")
    message = Message("invite", TEXT)  # promotional: the advertising rules do work
    clock = DaytimeClock()
    started = time.perf_counter()
    added, _ = ledger.enqueue("bench", message.key,
                              (Recipient(m, "viettel") for m in _numbers(count)),
                              promotional=True, now=clock.now().timestamp())
    load_seconds = time.perf_counter() - started
    registry = Runtime.create(entry_points=False, env={}).registry
    # The policies a promotional direct send runs (the selection `sms send` makes): all
    # six built-ins, with a 10,000-number Do-Not-Call list outside the audience (so both
    # loops send the same messages) and an opt-out footer.
    dnc = Path(workdir) / "dnc.csv"
    dnc.write_text("msisdn\n" + "\n".join(f"+8498{i:07d}" for i in range(10_000)) + "\n",
                   encoding="utf-8")
    tables = {"opt_out_footer": {"footer": FOOTER}, "do_not_call": {"files": [str(dnc)]}}
    policies = select_policies(registry, message, tables,
                               ConfigContext("bench", Path(workdir), "policies"))
    config = GenericHttpConfig(url=url, batch_url=batch_url if batch > 1 else None,
                               max_batch=batch, connections=connections, transport=transport,
                               timeout=30)
    gateway = GenericHttpGateway("sim", config)
    client = gateway.make_client()
    gateway.bind_client(client)
    engine = DispatchEngine(ledger, {"sim": gateway}, Routing({"viettel": "sim"}, "sim"),
                            campaign="bench", message=message, policies=policies, clock=clock,
                            sender="LANGSON", claim_size=max(500, batch * connections * 2))
    started = time.perf_counter()
    summary = await engine.run()
    elapsed = time.perf_counter() - started
    await client.aclose()
    counts = ledger.counts("bench", message.key)
    ledger.close()
    return {"sent": counts["accepted"], "seconds": elapsed, "loaded": added,
            "load_seconds": load_seconds, "outcome": summary.outcome}


def _child(kind: str, args: dict[str, Any], queue: Any) -> None:
    if kind == "bare":
        result = asyncio.run(_bare(**args))
    else:
        result = asyncio.run(_engine(**args))
    result["peak_rss_mb"] = _rss_mb()
    queue.put(result)


def _phase(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, args, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100, help="messages per batched request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--modes", default="single,batch")
    args = parser.parse_args()

    port = _free_port()
    sim = subprocess.Popen([sys.executable, "-m", "langson_comms.testing.simulator",
                            "--port", str(port), "--no-record"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None
    sim.stdout.readline()  # the banner: it is listening
    url = f"http://127.0.0.1:{port}/sms/send"
    batch_url = f"http://127.0.0.1:{port}/sms/batch"
    print(f"# bench_dispatch  {time.strftime('%Y-%m-%d %H:%M')}  count={args.count:,}  "
          f"connections={args.connections}  transport={args.transport}")
    print(f"# {platform.platform()}  python {platform.python_version()}  "
          f"cpus={os.cpu_count()}")
    rows = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for mode in args.modes.split(","):
                batch = 1 if mode == "single" else args.batch
                common = {"url": url, "batch_url": batch_url, "count": args.count,
                          "batch": batch, "connections": args.connections,
                          "transport": args.transport}
                bare = _phase("bare", common)
                engine = _phase("engine", {**common, "workdir": workdir})
                rows.append((mode, batch, bare, engine))
                bare_rate = bare["sent"] / bare["seconds"]
                engine_rate = engine["sent"] / engine["seconds"]
                print(f"{mode:>6} (batch {batch:>3}): bare {bare_rate:>9,.0f} msg/s "
                      f"({bare['sent']:,} in {bare['seconds']:.1f} s, RSS "
                      f"{bare['peak_rss_mb']:.0f} MB) | engine {engine_rate:>9,.0f} msg/s "
                      f"({engine['sent']:,} in {engine['seconds']:.1f} s, RSS "
                      f"{engine['peak_rss_mb']:.0f} MB; ledger load {engine['loaded']:,} rows "
                      f"in {engine['load_seconds']:.1f} s) | ratio "
                      f"{engine_rate / bare_rate:.2f}", flush=True)
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    main()
