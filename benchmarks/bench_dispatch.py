"""Benchmark: the dispatch engine against a bare HTTP loop, on loopback, in one run.

(a) ``bare``: N worker tasks post the same requests (same JSON bodies, same
    ``httpx.AsyncClient`` over the same transport) straight to the simulator;
(b) ``engine``: the same messages loaded into a fresh SQLite ledger and sent by the
    ``DispatchEngine`` with routing, the compliance policies of a promotional direct send
    (``select_policies``: sending window, 3-per-24h cap counted from the ledger, ``[QC]``
    label, opt-out footer, Do-Not-Call and opt-out lists) and the generic HTTP gateway.

Both run one message per request and in batches.  In batch mode two *floors* run too:
the bare loop plus nothing but a durable per-row write of each answer, (c) into the
real ledger (``SqliteLedger.record`` of the acceptances, rows claimed beforehand) and
(d) into the narrowest table that can hold the answer (id, state, carrier id, parts,
time).  They bound what any engine that keeps one durable row per message can reach.

The carrier simulator runs in its own process (``python -m
langson_comms.testing.simulator``); each phase runs in its own child process so its
peak RSS is its own.  Prints the rates, their ratio to the bare loop, CPU time per
message of the phase and of the simulator (both cores busy means no idle core is left
for anyone's extra work), the ledger load time and peak RSS.  Figures and the machine
go in docs/performance.md.

    uv run python benchmarks/bench_dispatch.py                 # 200,000 messages
    uv run python benchmarks/bench_dispatch.py --count 20000   # quicker
    uv run python benchmarks/bench_dispatch.py --modes batch --repeat 5
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
import statistics
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
        self._base_ts = self._base.timestamp()

    def now(self) -> pendulum.DateTime:
        return self._base.add(seconds=time.monotonic() - self._start)

    def timestamp(self) -> float:  # the optional fast path of a Clock
        return self._base_ts + time.monotonic() - self._start

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


# --- (a) the bare loop -------------------------------------------------------------------


async def _bare(url: str, batch_url: str, count: int, batch: int, connections: int,
                transport: str, record: Any = None) -> dict[str, Any]:
    """``record``: called with each batch answer's results (the floors' durable write)."""
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
                payload = {"messages": [body(m, i + j + 1) for j, m in enumerate(chunk)]}
                i += len(chunk)
                response = await client.post(batch_url, content=json.dumps(payload).encode(),
                                             headers={"content-type": "application/json"})
                response.raise_for_status()
                results = response.json()["results"]
                if record is None:
                    sent += sum(r["status"] == "accepted" for r in results)
                else:
                    sent += record(results)

    # workers number their messages from 1 each; the floors need distinct ledger ids
    numbered = iter(range(1, count + 1))

    async def numbered_worker() -> None:
        nonlocal sent
        while True:
            chunk = [(n, f"+8491{n - 1:07d}") for _, n in zip(range(batch), numbered,
                                                               strict=False)]
            if not chunk:
                return
            payload = {"messages": [body(m, n) for n, m in chunk]}
            response = await client.post(batch_url, content=json.dumps(payload).encode(),
                                         headers={"content-type": "application/json"})
            response.raise_for_status()
            sent += record(response.json()["results"])

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*((worker() if record is None else numbered_worker())
                           for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    await client.aclose()
    return {"sent": sent, "seconds": elapsed, "cpu_seconds": cpu}


# --- (c), (d) the floors: the bare loop plus a durable per-row write ----------------------


async def _floor(url: str, batch_url: str, count: int, batch: int, connections: int,
                 transport: str, workdir: str, table: str) -> dict[str, Any]:
    import sqlite3

    from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger

    now = time.time()
    if table == "ledger":
        ledger = SqliteLedger(Path(workdir) / f"floor-{batch}.sqlite")
        ledger.enqueue("floor", "invite", (Recipient(m, "viettel") for m in _numbers(count)),
                       promotional=True, now=now)
        while ledger.claim("floor", "invite", now, 5000):  # every row ``submitted``
            pass

        def record(results: list[dict[str, Any]]) -> int:
            rows = [Result(int(r["ref"]), SmsState.ACCEPTED, True, "sim", r["message_id"],
                           r["parts"]) for r in results if r["status"] == "accepted"]
            ledger.record(rows, now)
            return len(rows)
    else:
        db = sqlite3.connect(Path(workdir) / f"narrow-{batch}.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE sms (id INTEGER PRIMARY KEY, state TEXT, carrier_id TEXT,"
                   " parts INTEGER, accepted_at REAL)")
        db.execute("CREATE INDEX sms_carrier_id ON sms (carrier_id) WHERE carrier_id IS NOT NULL")
        with db:
            db.executemany("INSERT INTO sms (id, state) VALUES (?, 'submitted')",
                           ((i,) for i in range(1, count + 1)))

        def record(results: list[dict[str, Any]]) -> int:
            rows = [(r["message_id"], r["parts"], now, int(r["ref"]))
                    for r in results if r["status"] == "accepted"]
            db.execute("BEGIN IMMEDIATE")
            db.executemany("UPDATE sms SET state='accepted', carrier_id=?, parts=?,"
                           " accepted_at=? WHERE id=?", rows)
            db.execute("COMMIT")
            return len(rows)

    result = await _bare(url, batch_url, count, batch, connections, transport, record)
    # what the store really holds, not what was handed to it
    if table == "ledger":
        result["sent"] = ledger.counts("floor", "invite")["accepted"]
        ledger.close()
    else:
        result["sent"] = db.execute("SELECT count(*) FROM sms WHERE state='accepted'").fetchone()[0]
        db.close()
    return result


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
    tables: dict[str, dict[str, Any]] = {"opt_out_footer": {"footer": FOOTER},
                                         "do_not_call": {"files": [str(dnc)]}}
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
    cpu = time.process_time()
    summary = await engine.run()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    await client.aclose()
    counts = ledger.counts("bench", message.key)
    ledger.close()
    return {"sent": counts["accepted"], "seconds": elapsed, "cpu_seconds": cpu, "loaded": added,
            "load_seconds": load_seconds, "outcome": summary.outcome}


def _child(kind: str, args: dict[str, Any], queue: Any) -> None:
    if kind == "bare":
        result = asyncio.run(_bare(**args))
    elif kind == "engine":
        result = asyncio.run(_engine(**args))
    else:
        result = asyncio.run(_floor(**args, table=kind.removeprefix("floor-")))
    result["peak_rss_mb"] = _rss_mb()
    queue.put(result)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(kind: str, args: dict[str, Any], sim_pid: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, args, queue))
    sim_before = _cpu_seconds(sim_pid)
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    sim_after = _cpu_seconds(sim_pid)
    if sim_before is not None and sim_after is not None:
        result["sim_cpu_seconds"] = sim_after - sim_before
    return result


def _describe(name: str, result: dict[str, Any], count: int, bare_rate: float) -> str:
    rate = result["sent"] / result["seconds"]
    sim = (f", simulator {result['sim_cpu_seconds'] / count * 1e6:.1f}"
           if "sim_cpu_seconds" in result else "")
    line = (f"  {name:<13} {rate:>9,.0f} msg/s  ratio {rate / bare_rate:.2f}  "
            f"({result['sent']:,} in {result['seconds']:.1f} s; CPU µs/msg: own "
            f"{result['cpu_seconds'] / count * 1e6:.1f}{sim}; peak RSS "
            f"{result['peak_rss_mb']:.0f} MB")
    if "loaded" in result:
        line += f"; ledger load {result['loaded']:,} rows in {result['load_seconds']:.1f} s"
    return line + ")"


def _median_line(name: str, results: list[dict[str, Any]], count: int,
                 bare_rate: float) -> str:
    rates = sorted(r["sent"] / r["seconds"] for r in results)
    cpus = [r["cpu_seconds"] / count * 1e6 for r in results]
    rate = statistics.median(rates)
    return (f"  {name:<13} {rate:>9,.0f} msg/s  ratio {rate / bare_rate:.2f}  (of "
            f"{len(rates)}: {rates[0]:,.0f}–{rates[-1]:,.0f} msg/s; own CPU "
            f"{statistics.median(cpus):.1f} µs/msg)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100, help="messages per batched request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], default="aiohttp")
    parser.add_argument("--modes", default="single,batch")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of the batch-mode phases (a few seconds each, so noisy); "
                             "medians are compared")
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
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for mode in args.modes.split(","):
                batch = 1 if mode == "single" else args.batch
                common = {"url": url, "batch_url": batch_url, "count": args.count,
                          "batch": batch, "connections": args.connections,
                          "transport": args.transport}
                kinds = ["bare", "engine"] + (["floor-ledger", "floor-narrow"] if batch > 1
                                              else [])
                rounds = args.repeat if batch > 1 else 1
                results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
                print(f"{mode} (batch {batch}):", flush=True)
                for _ in range(rounds):  # interleaved, so drifting load hits every kind
                    for kind in kinds:
                        args_ = common if kind == "bare" else {
                            **common, "workdir": tempfile.mkdtemp(dir=workdir)}
                        results[kind].append(_phase(kind, args_, sim.pid))
                    bare_rate = results["bare"][-1]["sent"] / results["bare"][-1]["seconds"]
                    for kind in kinds:
                        print(_describe(kind, results[kind][-1], args.count, bare_rate),
                              flush=True)
                if rounds > 1:
                    bare_rate = statistics.median(r["sent"] / r["seconds"]
                                                  for r in results["bare"])
                    print(f"{mode}, medians of {rounds} rounds:")
                    for kind in kinds:
                        print(_median_line(kind, results[kind], args.count, bare_rate),
                              flush=True)
    finally:
        sim.terminate()
        sim.wait(10)


if __name__ == "__main__":
    main()
