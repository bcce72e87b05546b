"""Benchmark: 1, 2 and 4 senders on one campaign against PostgreSQL, and 1 against SQLite.

In one run: the carrier simulator in its own process (``--no-record``, no rate limit),
a throwaway PostgreSQL server (durable defaults; or ``--url``), and for each phase a fresh
ledger loaded with N recipients, then K sender processes (``DispatchEngine`` with the
generic HTTP gateway in batched mode, no gateway rate limit: the engine and the store
are the bound) started together on it.  A phase's rate is N over the time from the start
of the senders to the end of the last; CPU per message counts the senders, the simulator
and (PostgreSQL) the server.  Figures go in docs/performance.md.

    uv run python benchmarks/bench_pg_senders.py                  # 100,000 messages
    uv run python benchmarks/bench_pg_senders.py --count 20000    # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from langson_comms.messages import Message
from langson_comms.sms.engine import DispatchEngine, Routing
from langson_comms.sms.http_gateway import GenericHttpConfig, GenericHttpGateway
from langson_comms.sms.ledger import Recipient, open_ledger
from langson_comms.testing.postgres import ThrowawayPostgres

sys.path.insert(0, str(Path(__file__).parent))
from bench_dispatch import _cpu_seconds, _free_port
from bench_pg_load import server_cpu

TEXT = "Thong bao: tai ung dung Cong dan so Xu Lang"


async def _send(where: str, campaign: str, url: str, batch_url: str, batch: int,
                start: Any, ready: Any) -> dict[str, Any]:
    message = Message("invite", TEXT, classification="public_notice", classified_by="So")
    config = GenericHttpConfig(url=url, batch_url=batch_url, max_batch=batch, connections=4,
                               timeout=30, supports_idempotency=True)
    gateway = GenericHttpGateway("sim", config)
    client = gateway.make_client()
    gateway.bind_client(client)
    with open_ledger(where) as ledger:
        engine = DispatchEngine(ledger, {"sim": gateway}, Routing(default="sim"),
                                campaign=campaign, message=message, claim_size=1000)
        ready.put(True)
        start.wait()  # everything is imported, connected and built: go
        cpu, wall = time.process_time(), time.perf_counter()
        summary = await engine.run()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await client.aclose()
    return {"accepted": summary.stats.get("accepted", 0), "cpu_seconds": cpu,
            "seconds": round(wall, 2), "outcome": summary.outcome}


def _child(args: dict[str, Any], start: Any, ready: Any, queue: Any) -> None:
    queue.put(asyncio.run(_send(**args, start=start, ready=ready)))


def phase(name: str, where: str, senders: int, count: int, sim: dict[str, Any],
          postmaster: int | None) -> dict[str, Any]:
    campaign = f"bench-{name}"  # a campaign of its own (one --url database for all)
    with open_ledger(where) as ledger:
        ledger.enqueue(campaign, "invite", (Recipient(f"+8491{i:07d}", "viettel")
                                           for i in range(count)),
                       promotional=False, now=time.time())
    ctx = mp.get_context("spawn")
    queue, ready, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_child, args=({"where": where, "campaign": campaign, **sim["args"]},
                                               start, ready, queue))
             for _ in range(senders)]
    for proc in procs:
        proc.start()
    for _ in procs:  # the children import, connect and build their engine first
        ready.get()
    sim_cpu, db_cpu = _cpu_seconds(sim["pid"]) or 0.0, server_cpu(postmaster)
    started = time.perf_counter()
    start.set()
    results = [queue.get() for _ in procs]
    seconds = time.perf_counter() - started
    for proc in procs:
        proc.join()
    with open_ledger(where) as ledger:
        counts = ledger.counts(campaign, "invite")
    assert counts["accepted"] == count, counts
    cpu = sum(r["cpu_seconds"] for r in results)
    sim_used = (_cpu_seconds(sim["pid"]) or 0.0) - sim_cpu
    db_used = server_cpu(postmaster) - db_cpu
    out = {"senders": senders, "messages": count, "seconds": round(seconds, 2),
           "msgs_per_s": round(count / seconds),
           "sender_cpu_us_per_msg": round(cpu / count * 1e6, 1),
           "server_cpu_us_per_msg": round(db_used / count * 1e6, 1),
           "simulator_cpu_us_per_msg": round(sim_used / count * 1e6, 1),
           "per_sender": [r["accepted"] for r in results],
           "sender_seconds": [r["seconds"] for r in results],
           "load_average_after": round(os.getloadavg()[0], 2)}
    print(f"{name:<12} {out['msgs_per_s']:>7,} msg/s  {count:,} in {seconds:.1f} s  CPU/msg:"
          f" senders {out['sender_cpu_us_per_msg']} us, server {out['server_cpu_us_per_msg']}"
          f" us, simulator {out['simulator_cpu_us_per_msg']} us; per sender"
          f" {out['per_sender']}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", default="1,2,4")
    parser.add_argument("--url", help="a PostgreSQL server (default: a throwaway one)")
    args = parser.parse_args(argv)
    port = _free_port()
    simulator = subprocess.Popen([sys.executable, "-m", "langson_comms.testing.simulator",
                                  "--port", str(port), "--no-record", "--idempotent"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert simulator.stdout is not None
    simulator.stdout.readline()  # listening
    sim = {"pid": simulator.pid, "args": {"url": f"http://127.0.0.1:{port}/sms/send",
                                          "batch_url": f"http://127.0.0.1:{port}/sms/batch",
                                          "batch": args.batch}}
    server = None
    postmaster: int | None = None
    print(f"# bench_pg_senders  {time.strftime('%Y-%m-%d %H:%M')}  count={args.count:,}"
          f"  batch={args.batch}  {platform.platform()}  python {platform.python_version()}"
          f"  cpus={os.cpu_count()}  load={os.getloadavg()[0]:.2f}", flush=True)
    results: dict[str, Any] = {}
    try:
        if args.url is None:
            server = ThrowawayPostgres(durable=True).start()
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        for k in (int(s) for s in args.senders.split(",")):
            where = (server.create_database(f"bench{k}") if server is not None
                     else str(args.url))
            results[f"postgresql-{k}"] = phase(f"postgresql×{k}", where, k, args.count, sim,
                                               postmaster)
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite-1"] = phase("sqlite×1", str(Path(tmp) / "l.sqlite"), 1,
                                        args.count, sim, None)
    finally:
        simulator.terminate()
        simulator.wait()
        if server is not None:
            server.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
