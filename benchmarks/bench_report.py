"""Benchmark: ``langson-comms report --format json`` over a whole campaign's stores.

Builds, in a temporary copy of the reference campaign (examples/langson_2022), with bulk
inserts: an SMS ledger of N delivered messages (1,000,000), as-run confirmations for
every planned loudspeaker airing (15,582 for the reference plan), A activity rows
(200,000: social posts and press items logged through ``log_records``) and S sign-ups
(100,000; a third carry the keyed hash of a number the ledger delivered to, so the
"reached by SMS" match does real work).  Then runs the report in a fresh child process
and reports its wall time, CPU time and peak RSS.

    uv run python benchmarks/bench_report.py
    uv run python benchmarks/bench_report.py --ledger-rows 200000 --activity-rows 20000

Targets (issue 11): under 5 s and under 300 MB.  Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pendulum

from langson_comms import FrozenClock, Runtime
from langson_comms.activity.log import log_records
from langson_comms.activity.store import SqliteActivityStore
from langson_comms.default_plugins.activity_records import PressItem, SocialPost
from langson_comms.signups import Pseudonymizer, SqliteSignupStore, StoredSignup
from langson_comms.sms.ledger import SqliteLedger

REFERENCE = Path(__file__).parents[1] / "examples" / "langson_2022"
KEY = "benchmark-key-0123456789abcdef"
TZ = "Asia/Ho_Chi_Minh"
START = pendulum.datetime(2022, 6, 10, 8, tz=TZ).timestamp()
SECONDS = 200 * 86400  # spread over the first 200 days of the campaign
OUTLETS = ("Báo Lạng Sơn", "Đài Phát thanh và Truyền hình tỉnh Lạng Sơn")


def number(i: int) -> str:
    return f"+8491{i:07d}"


def build(folder: Path, ledger_rows: int, activity_rows: int, signup_rows: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    runtime = Runtime.create(entry_points=False, clock=FrozenClock(pendulum.datetime(2023, 1, 5, tz=TZ)))
    campaign = runtime.load_campaign(folder / "campaign.toml")
    rng = random.Random(11)

    t = time.perf_counter()
    ledger_path = campaign.channels_of_kind("sms")[0].channel.ledger_path()
    SqliteLedger(ledger_path).close()  # the schema
    with sqlite3.connect(ledger_path) as db:
        db.executemany(
            "INSERT INTO sms (campaign, message, msisdn, carrier_hint, promotional, state, idem_key,"
            " created_at, accepted_at, final_at) VALUES (?, 'sms_invite', ?, 'viettel', 1, 'delivered', ?, ?, ?, ?)",
            ((campaign.id, number(i), f"k{i}", START, START, START + (i * 7919) % SECONDS)
             for i in range(ledger_rows)),
        )
    timings["ledger_build_s"] = time.perf_counter() - t

    t = time.perf_counter()
    channel = campaign.channels_of_kind("broadcast")[0].channel
    schedule = channel.schedule(runtime.registry)
    with channel.store(channel.store_path):
        pass  # the schema
    with sqlite3.connect(channel.store_path) as db:
        db.executemany(
            "INSERT OR IGNORE INTO confirmations (station, day, time, item, via, source, line, recorded_at)"
            " VALUES (?, ?, ?, ?, 'csv', 'bench', NULL, '2023-01-05T00:00:00+07:00')",
            ((a.station, a.day.isoformat(), a.start.in_timezone(TZ).strftime("%H:%M"), a.item)
             for a in schedule.airings),
        )
    timings["airings"] = len(schedule.airings)
    timings["asrun_build_s"] = time.perf_counter() - t

    t = time.perf_counter()
    social = activity_rows * 3 // 4
    with SqliteActivityStore(folder / ".langson" / "activity.sqlite") as store:
        for first in range(0, social, 20_000):
            log_records(campaign, store, "social", [
                SocialPost(platform="zalo", page=f"Tổ {i % 194}", date=dt.date(2022, 6, 10) + dt.timedelta(i % 200),
                           link=f"https://zalo.me/p/{i}", views=50 + i % 400)
                for i in range(first, min(first + 20_000, social))], clock=runtime.clock)
        for first in range(0, activity_rows - social, 20_000):
            log_records(campaign, store, "press", [
                PressItem(outlet=OUTLETS[i % 2], date=dt.date(2022, 6, 10) + dt.timedelta(i % 200),
                          title=f"Bài {i}", audience=1000 + i % 5000)
                for i in range(first, min(first + 20_000, activity_rows - social))], clock=runtime.clock)
    timings["activity_build_s"] = time.perf_counter() - t

    t = time.perf_counter()
    hasher = Pseudonymizer(key=KEY.encode())
    teams = [(team.code, team.commune_code) for team in campaign.teams]
    assert campaign.signups is not None
    rows = []
    for i in range(signup_rows):
        when = START + rng.randrange(SECONDS)
        day = pendulum.from_timestamp(when, tz=TZ).date().isoformat()
        team, commune = teams[i % len(teams)] if i % 10 else (None, None)
        phone = hasher.hash(number(rng.randrange(ledger_rows))) if i % 3 == 0 and ledger_rows else None
        rows.append(StoredSignup("cong_dan_so_xu_lang", "install" if i % 4 else "account_opened", f"B{i}",
                                 when, day, phone, None, commune, team, "team_code" if team else "unattributed",
                                 team, commune, True, "bench"))
    with SqliteSignupStore(campaign.signups.store_path) as signups:
        signups.store_batch("bench", rows, [], None, time.time())
    timings["signups_build_s"] = time.perf_counter() - t
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger-rows", type=int, default=1_000_000)
    parser.add_argument("--activity-rows", type=int, default=200_000)
    parser.add_argument("--signups", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None,
                        help="Build in this (new) folder and keep it, to profile the report afterwards.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "campaign"
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns(".langson", "out"))
        (folder / ".langson").mkdir()
        timings = build(folder, args.ledger_rows, args.activity_rows, args.signups)
        env = {**os.environ, "LANGSON_COMMS_PSEUDONYM_KEY": KEY}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the second run imports from bytecode, as installed
        runs = []
        for _ in range(2):  # the first hashes every ledger row into the cache; the second only new ones
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "langson_comms", "report", "--format", "json",
                                   "--to", "2022-12-31"], cwd=folder, env=env, capture_output=True, text=True,
                                  check=False)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                sys.exit(f"report failed ({done.returncode}): {done.stderr}")
            runs.append({"wall_s": round(wall, 2),
                         "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
                         "peak_rss_mb_so_far": round(after.ru_maxrss / 1024, 1)})
        report = json.loads(done.stdout)
        result = {
            "ledger_rows": args.ledger_rows, "airings": timings["airings"], "activity_rows": args.activity_rows,
            "signups": args.signups,
            "first_report (hash cache cold)": runs[0], "second_report (hash cache warm)": runs[1],
            "reach": report["kpis"]["reaches"]["value"],
            "installs": report["kpis"]["installs"]["value"],
            "reached_by_sms": report["attribution"]["reached_by_sms"],
            "build_s": {k: round(v, 1) for k, v in timings.items() if k.endswith("_s")},
            "load_average": os.getloadavg()[0], "python": platform.python_version(),
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
