"""Benchmark: logging 200,000 activity rows across the four channels, then ``activity status``.

Generates, for a campaign of 500 teams (2022-06-10..2022-12-31): a press log, LED/website
placements (7–30 days each) and clips, social posts, team visits (half of them as .xlsx)
and training records — 200,000 rows in all by default, 1 % malformed — then, in a fresh
child process, logs them through the public ``log_files()`` into a new SQLite store and
times ``activity_status()`` over them.  Prints wall time, CPU time and peak RSS.

    uv run python benchmarks/bench_activity.py                 # 200,000 rows
    uv run python benchmarks/bench_activity.py --rows 20000

Targets (issue 10): 200,000 rows (CSV and .xlsx) logged in under 20 s, peak RSS under
200 MB; ``activity status`` over them in under 2 s.  Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CAMPAIGN = """
[campaign]
id = "bench"
title = "bench"
start = 2022-06-10
end = 2022-12-31

[channels.press]
kind = "press"
outlets = ["Báo Lạng Sơn", "Đài PT-TH Lạng Sơn"]
audiences = { "Đài PT-TH Lạng Sơn" = 120000 }

[channels.visual]
kind = "visual"
video_clips = 2
viewers_per_play = 30

[channels.social]
kind = "social"
platforms = ["zalo", "facebook"]

[channels.outreach]
kind = "outreach"

[teams]
file = "teams.csv"
"""
START = dt.date(2022, 6, 10)
DAYS = 200
#: 500 teams (commune codes need not exist: the campaign has no [regions])
TEAMS = [5971 + i for i in range(500)]
#: share of the rows per file
SHARES = {"press.csv": 0.05, "placements.csv": 0.05, "clips.csv": 0.01, "social.csv": 0.34,
          "visits.csv": 0.2, "visits.xlsx": 0.25, "training.csv": 0.10}
CHANNEL = {"press.csv": "press", "placements.csv": "visual", "clips.csv": "visual", "social.csv": "social",
           "visits.csv": "outreach", "visits.xlsx": "outreach", "training.csv": "outreach"}


def _day(rng: random.Random) -> str:
    return (START + dt.timedelta(days=rng.randrange(DAYS))).isoformat()


def rows_of(name: str, count: int, rng: random.Random) -> tuple[list[str], list[list[object]]]:
    rows: list[list[object]] = []
    for i in range(count):
        bad = rng.random() < 0.01
        if name == "press.csv":
            outlet = "Báo Lạng Sơn" if i % 2 else "Đài PT-TH Lạng Sơn"
            rows.append([outlet, "soon" if bad else _day(rng), f"Bài {i}", "article", rng.randrange(3000, 6000)
                         if i % 2 else ""])
            header = ["outlet", "date", "title", "kind", "print run"]
        elif name == "placements.csv":
            first = START + dt.timedelta(days=rng.randrange(DAYS - 30))
            last = first + dt.timedelta(days=rng.randrange(7, 30))
            rows.append(["board", f"Bảng {i}", 178 + i % 12 if i % 12 != 1 else 178, first.isoformat(),
                         last.isoformat(), "x" if bad else rng.randrange(500, 3000)])
            header = ["medium", "location", "district", "start", "end", "daily audience"]
        elif name == "clips.csv":
            first = START + dt.timedelta(days=rng.randrange(DAYS - 10))
            rows.append([f"Clip {i % 2}", f"Screen {i}", first.isoformat(),
                         (first + dt.timedelta(days=rng.randrange(1, 10))).isoformat(), "" if bad else 24])
            header = ["clip", "screen", "start", "end", "plays per day"]
        elif name == "social.csv":
            rows.append(["zalo" if i % 3 else "facebook", f"Nhóm {i % 40}", _day(rng), f"https://p/{i}",
                         "many" if bad else rng.randrange(50, 5000)])
            header = ["platform", "page", "date", "link", "views"]
        elif name.startswith("visits"):
            team = TEAMS[i % len(TEAMS)]
            offset = 0 if name.endswith(".csv") else 100  # the two files cover different days
            day = START + dt.timedelta(days=(offset + i // len(TEAMS)) % DAYS)
            rows.append([f"T{team}", team, day.isoformat(), "x" if bad else rng.randrange(5, 60), rng.randrange(5, 90),
                         rng.randrange(0, 30)])
            header = ["Mã tổ", "Mã xã", "Ngày", "Số hộ", "Số người được hướng dẫn", "Số lượt cài đặt"]
        else:
            team = TEAMS[i % len(TEAMS)]
            rows.append([f"Member {i}", f"T{team}", "bad" if bad else _day(rng), "Sở TTTT"])
            header = ["member", "team", "date", "trainer"]
    return header, rows


def write_inputs(folder: Path, total: int) -> dict[str, int]:
    rng = random.Random(10)
    with (folder / "teams.csv").open("w", encoding="utf-8") as handle:
        handle.write("team_code,team_name,commune_code,member_name,member_phone,trained\n")
        # every member a training row names (row i: "Member i" of team TEAMS[i % teams])
        trained = max(int(total * SHARES["training.csv"]), len(TEAMS))
        for i in range(trained):
            commune = TEAMS[i % len(TEAMS)]
            handle.write(f"T{commune},Team {commune},{commune},Member {i},,yes\n")
    counts = {}
    for name, share in SHARES.items():
        count = int(total * share)
        counts[name] = count
        header, rows = rows_of(name, count, rng)
        if name.endswith(".xlsx"):
            import xlsxwriter

            book = xlsxwriter.Workbook(str(folder / name), {"constant_memory": True})
            sheet = book.add_worksheet()
            sheet.write_row(0, 0, header)
            for n, row in enumerate(rows, start=1):
                sheet.write_row(n, 0, row)
            book.close()
        else:
            with (folder / name).open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
    return counts


def child(folder: str) -> None:
    """Log every file and time the status (in a fresh process); print JSON."""
    from langson_comms import Runtime, SystemClock
    from langson_comms.activity.log import activity_status, log_files
    from langson_comms.activity.store import SqliteActivityStore

    base = Path(folder)
    (base / "campaign.toml").write_text(CAMPAIGN, encoding="utf-8")
    runtime = Runtime.create(entry_points=False)
    campaign = runtime.load_campaign(base / "campaign.toml")
    read = accepted = duplicates = rejected = 0
    started = time.perf_counter()
    cpu = time.process_time()
    with SqliteActivityStore(base / "activity.sqlite") as store:
        for name, key in CHANNEL.items():
            report = log_files(campaign, store, key, [base / name], clock=SystemClock())
            t = report.totals
            assert t.read == t.accepted + t.duplicates + t.rejected
            read, accepted = read + t.read, accepted + t.accepted
            duplicates, rejected = duplicates + t.duplicates, rejected + t.rejected
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        status_started = time.perf_counter()
        status_cpu = time.process_time()
        status = activity_status(campaign, store)
        status_seconds = time.perf_counter() - status_started
        status_cpu = time.process_time() - status_cpu
    print(json.dumps({
        "seconds": seconds, "cpu_seconds": cpu, "status_seconds": status_seconds, "status_cpu_seconds": status_cpu, "reach": status.reach,
        "read": read, "accepted": accepted, "duplicates": duplicates, "rejected": rejected,
        "load": os.getloadavg()[0], "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-activity-") as tmp:
        made = time.perf_counter()
        counts = write_inputs(Path(tmp), args.rows)
        print(f"inputs written in {time.perf_counter() - made:.1f} s: "
              + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
        out = subprocess.run([sys.executable, __file__, "--child", tmp], capture_output=True, text=True,
                             check=False)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return 1
        r = json.loads(out.stdout)
    print(f"logged {r['read']:,} rows in {r['seconds']:.1f} s (CPU {r['cpu_seconds']:.1f} s, load "
          f"{r['load']:.1f}): {r['accepted']:,} accepted, {r['duplicates']:,} duplicates, "
          f"{r['rejected']:,} rejected; peak RSS {r['peak_rss_mb']:.0f} MB")
    print(f"activity status in {r['status_seconds']:.2f} s (CPU {r['status_cpu_seconds']:.2f} s; "
          f"{r['reach']:,} reaches)")
    failed = args.rows >= 200_000 and (r["seconds"] >= 20 or r["peak_rss_mb"] >= 200 or r["status_seconds"] >= 2)
    if failed:
        print("FAILED: 200,000 rows must log in < 20 s and < 200 MB, status in < 2 s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
