"""Benchmark: loading 1,000,000 recipients into the SMS ledger on PostgreSQL, and on SQLite.

Starts a throwaway PostgreSQL server with its durable defaults (fsync on; or uses
``--url``), then times ``ledger.enqueue`` of N recipients (a number, a carrier hint, one
template field, a source) into a fresh ``PostgresLedger`` -- COPY into a temporary table
and one INSERT per 50,000-row chunk -- and, in the same run, into a fresh ``SqliteLedger``.
A second load of the same audience (which must add nothing) is timed on both too.

    uv run python benchmarks/bench_pg_load.py                 # 1,000,000 rows
    uv run python benchmarks/bench_pg_load.py --rows 100000
    uv run python benchmarks/bench_pg_load.py --url postgresql://me@db/bench

Target (issue 12): 1,000,000 rows loaded into PostgreSQL in under 60 s.  Results go in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langson_comms.sms.ledger import Ledger, Recipient, open_ledger
from langson_comms.testing.postgres import ThrowawayPostgres

CARRIERS = ("viettel", "vinaphone", "mobifone")


def recipients(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(f"+8491{i:07d}", CARRIERS[i % 3], {"ten": f"Ban {i}"},
                        f"list.csv:{i + 2}")


def server_cpu(postmaster: int | None) -> float:
    """CPU seconds used so far by a local PostgreSQL server: the postmaster, its live
    children (the backends) and the children it has reaped (0 when not local)."""
    if postmaster is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def timed(ledger: Ledger, n: int, postmaster: int | None = None) -> dict[str, Any]:
    wall, cpu, server = time.perf_counter(), time.process_time(), server_cpu(postmaster)
    added, present = ledger.enqueue("bench", "invite", recipients(n), promotional=False,
                                    now=time.time())
    return {"added": added, "already": present,
            "seconds": round(time.perf_counter() - wall, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2),
            "server_cpu_seconds": round(server_cpu(postmaster) - server, 2),
            "rows_per_s": round(n / (time.perf_counter() - wall)),
            "load_average_after": os.getloadavg()[0]}


def run(name: str, open_store: Callable[[], Ledger], n: int,
        postmaster: int | None = None) -> dict[str, Any]:
    with open_store() as ledger:
        first = timed(ledger, n, postmaster)
        assert first["added"] == n, first
        again = timed(ledger, n, postmaster)
        assert again["added"] == 0, again
        assert ledger.counts("bench", "invite")["queued"] == n
    print(f"{name}: {n:,} rows in {first['seconds']} s ({first['rows_per_s']:,}/s, CPU"
          f" {first['cpu_seconds']} s here + {first['server_cpu_seconds']} s in the server);"
          f" reloading adds nothing in {again['seconds']} s", flush=True)
    return {"load": first, "reload": again}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway server)")
    args = parser.parse_args(argv)
    server = None
    postmaster: int | None = None
    url = args.url
    if url is None:
        server = ThrowawayPostgres(durable=True).start()
        url = server.create_database("bench")
        postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    try:
        result: dict[str, Any] = {
            "rows": args.rows, "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        }
        result["postgresql"] = run("PostgreSQL", lambda: open_ledger(url), args.rows,
                                   postmaster)
        with tempfile.TemporaryDirectory() as tmp:
            result["sqlite"] = run("SQLite", lambda: open_ledger(Path(tmp) / "l.sqlite"),
                                   args.rows)
    finally:
        if server is not None:
            server.stop()
    ratio = result["postgresql"]["load"]["seconds"] / max(result["sqlite"]["load"]["seconds"], 1e-9)
    result["pg_over_sqlite"] = round(ratio, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))
    return 0 if result["postgresql"]["load"]["seconds"] < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
