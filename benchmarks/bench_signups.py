"""Benchmark: ingesting sign-up exports with the built-in ``file`` source.

Generates a CSV of N sign-up rows (external id, kind, ISO or Vietnamese date-time,
a phone number in a mix of shapes, commune and team codes — 1 % malformed, 2 %
duplicates) and a .xlsx of M rows, then ingests each in a fresh child process through
the public ``ingest()`` call into a new SQLite store (phones pseudonymised), and reports
wall time, CPU time (the figure that does not depend on the machine's other work), rows
per second and peak RSS of the child.

    uv run python benchmarks/bench_signups.py                      # 1,000,000 CSV + 100,000 xlsx
    uv run python benchmarks/bench_signups.py --csv-rows 200000 --xlsx-rows 0

Targets (issue 9): 1,000,000 events from CSV in under 60 s with peak RSS under 200 MB;
100,000 from .xlsx: time reported.  Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

KINDS = ("install", "install", "install", "account_opened", "first_purchase", "seller_registered")
CAMPAIGN = """
[campaign]
id = "bench"
title = "bench"
start = 2022-06-10
end = 2022-12-31

[teams]
file = "teams.csv"

[signups]
store = "bench.sqlite"

[signups.bench]
kind = "file"
platform = "cong_dan_so_xu_lang"
files = ["{file}"]
"""
KEY_ENV = {"LANGSON_COMMS_PSEUDONYM_KEY": "benchmark-key-0123456789abcdef"}


def generate_rows(count: int, seed: int = 9) -> Iterator[list[str]]:
    rng = random.Random(seed)
    for i in range(count):
        roll = rng.random()
        ident = f"E{i:08d}" if roll >= 0.02 or i == 0 else f"E{rng.randrange(i):08d}"
        day = 1 + i % 28
        when = (f"2022-07-{day:02d}T{8 + i % 12:02d}:{i % 60:02d}:00" if i % 3
                else f"{day:02d}/07/2022 {8 + i % 12:02d}:{i % 60:02d}")
        phone = f"09{rng.randrange(10**8):08d}" if i % 4 else f"+84 9{rng.randrange(10**8):08d}"
        commune = str(5971 + (i % 40) * 3)
        team = f"T{commune}" if i % 5 else ""
        if roll < 0.01:
            when = "không rõ"
        yield [ident, KINDS[i % len(KINDS)], when, phone, commune, team]


HEADER = ["external_id", "kind", "occurred_at", "phone", "commune_code", "team_code"]


def write_inputs(folder: Path, csv_rows: int, xlsx_rows: int) -> None:
    import csv

    with (folder / "teams.csv").open("w", encoding="utf-8") as handle:
        handle.write("team_code,team_name,commune_code,member_name,member_phone,trained\n")
        for i in range(40):
            commune = 5971 + i * 3
            handle.write(f"T{commune},Team {commune},{commune},Member,,yes\n")
    if csv_rows:
        with (folder / "signups.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(generate_rows(csv_rows))
    if xlsx_rows:
        import xlsxwriter

        book = xlsxwriter.Workbook(str(folder / "signups.xlsx"), {"constant_memory": True})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, HEADER)
        for n, row in enumerate(generate_rows(xlsx_rows, seed=10), start=1):
            sheet.write_row(n, 0, row)
        book.close()


def child(folder: str, file: str) -> None:
    """Ingest ``file`` (in a fresh process) and print the result as JSON."""
    from langson_comms import Runtime, SystemClock
    from langson_comms.signups import SqliteSignupStore, ingest

    base = Path(folder)
    (base / "campaign.toml").write_text(CAMPAIGN.format(file=file), encoding="utf-8")
    store_path = base / "bench.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_path}{suffix}").unlink(missing_ok=True)
    runtime = Runtime.create(entry_points=False)
    campaign = runtime.load_campaign(base / "campaign.toml")
    started = time.perf_counter()
    cpu = time.process_time()
    with SqliteSignupStore(store_path) as store:
        report = ingest(campaign, store, clock=SystemClock(), env=KEY_ENV)
        stored = store.count()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    totals = report.totals
    assert totals.read == totals.accepted + totals.duplicates + totals.rejected
    assert stored == totals.accepted
    print(json.dumps({
        "file": file, "seconds": seconds, "cpu_seconds": cpu, "load": os.getloadavg()[0], **totals.as_dict(),
        "rows_per_second": totals.read / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-signups-") as tmp:
        folder = Path(tmp)
        made = time.perf_counter()
        write_inputs(folder, args.csv_rows, args.xlsx_rows)
        print(f"inputs written in {time.perf_counter() - made:.1f} s")
        for file, count in (("signups.csv", args.csv_rows), ("signups.xlsx", args.xlsx_rows)):
            if not count:
                continue
            out = subprocess.run([sys.executable, __file__, "--child", tmp, file], capture_output=True,
                                 text=True, check=False, env={**os.environ, **KEY_ENV})
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
            result = json.loads(out.stdout)
            print(f"{file}: {result['read']:,} rows in {result['seconds']:.1f} s "
                  f"({result['rows_per_second']:,.0f}/s; CPU {result['cpu_seconds']:.1f} s, "
                  f"load {result['load']:.1f} at the end): {result['accepted']:,} accepted, "
                  f"{result['duplicates']:,} duplicates, {result['rejected']:,} rejected, "
                  f"{result['unattributed']:,} unattributed; peak RSS {result['peak_rss_mb']:.0f} MB")
            if file.endswith(".csv") and count >= 1_000_000:
                failed |= result["seconds"] >= 60 or result["peak_rss_mb"] >= 200
    if failed:
        print("FAILED: 1,000,000 CSV rows must take < 60 s and < 200 MB", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
