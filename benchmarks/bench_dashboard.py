"""Benchmark: rendering the report's formats, and the live dashboard's refresh.

On a copy of the reference campaign with N sign-ups in its sign-up store (installs,
accounts, purchases spread over the teams and 2022-06-10..2022-07-20), measures in this
process:

* ``measure``: ``measure_stores`` (the one measurement every view renders);
* each format's rendering from that measurement (text, md, html with its six charts,
  json, xlsx);
* the dashboard: a first refresh (measure + HTML body with every chart), then, after one
  more sign-up is stored, the refresh the page sees (charts whose figures did not move
  are not redrawn), as wall time and CPU time of the refreshing thread — the figure that
  does not depend on the machine's other work.

    uv run python benchmarks/bench_dashboard.py                 # 100,000 sign-ups
    uv run python benchmarks/bench_dashboard.py --signups 20000

Target (issue 11): the dashboard's refresh in under 1 s.  Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pendulum

from langson_comms import FrozenClock, Runtime
from langson_comms.kpi import measure_stores, report_period
from langson_comms.reports import Dashboard, report_html, report_json, report_markdown, report_text
from langson_comms.reports.workbook import write_report_xlsx
from langson_comms.signups import SqliteSignupStore, StoredSignup

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "langson_2022"
TZ = "Asia/Ho_Chi_Minh"
AS_OF = pendulum.date(2022, 7, 20)
KINDS = (("cong_dan_so_xu_lang", "install"),) * 3 + (("mbbank", "account_opened"), ("postmart", "first_purchase"))


def teams(folder: Path) -> list[tuple[str, str]]:
    import csv

    with (folder / "teams.csv").open(encoding="utf-8") as handle:
        return sorted({(row["team_code"], row["commune_code"]) for row in csv.DictReader(handle)})


def fill(store_path: Path, count: int, codes: list[tuple[str, str]], rng: random.Random) -> None:
    start = pendulum.datetime(2022, 6, 10, tz=TZ).timestamp()
    span = (AS_OF.add(days=1) - pendulum.date(2022, 6, 10)).days * 86_400
    rows = []
    for i in range(count):
        when = start + rng.random() * span
        team, commune = codes[rng.randrange(len(codes))]
        platform_, kind = KINDS[rng.randrange(len(KINDS))]
        day = pendulum.from_timestamp(when, tz=TZ).date().isoformat()
        rows.append(StoredSignup(platform_, kind, f"b{i}", when, day, None, None, commune, team, "team_code", team,
                                 commune, True, "bench"))
    with SqliteSignupStore(store_path) as store:
        for i in range(0, len(rows), 50_000):
            store.store_batch("bench", rows[i:i + 50_000], [], None, start)


def timed(fn: object) -> float:
    began = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(2022)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "langson_2022"
        shutil.copytree(REFERENCE, folder, ignore=shutil.ignore_patterns(".langson", "out", "*.py", "signups"))
        store = folder / ".langson" / "signups.sqlite"
        store.parent.mkdir()
        codes = teams(folder)
        fill(store, args.signups, codes, rng)
        clock = FrozenClock(pendulum.datetime(2022, 7, 20, 20, tz=TZ))
        runtime = Runtime.create(clock=clock)
        campaign = runtime.load_campaign(folder / "campaign.toml")
        period = report_period(campaign, clock, None, AS_OF)
        results: dict[str, object] = {"signups": args.signups, "python": platform.python_version(),
                                      "machine": platform.machine()}
        holder: dict[str, object] = {}
        results["measure_s"] = timed(lambda: holder.update(
            m=measure_stores(campaign, period, clock=clock, registry=runtime.registry)))
        m = holder["m"]
        results["text_s"] = timed(lambda: report_text(m))  # type: ignore[arg-type]
        results["md_s"] = timed(lambda: report_markdown(m))  # type: ignore[arg-type]
        results["html_s"] = timed(lambda: report_html(m))  # type: ignore[arg-type]
        results["json_s"] = timed(lambda: report_json(m))  # type: ignore[arg-type]
        results["xlsx_s"] = timed(lambda: write_report_xlsx(m, Path(tmp) / "r.xlsx"))  # type: ignore[arg-type]
        board = Dashboard(campaign, clock=clock, end=AS_OF, registry=runtime.registry, port=0)
        board.refresh_now()
        results["dashboard_first_refresh_s"] = board.refresh_seconds
        results["dashboard_first_refresh_cpu_s"] = board.refresh_cpu_seconds
        walls, cpus = [], []
        for i in range(3):
            fill_one = [StoredSignup("cong_dan_so_xu_lang", "install", f"new{i}", pendulum.datetime(
                2022, 7, 20, 10, tz=TZ).timestamp(), "2022-07-20", None, None, codes[i][1], codes[i][0], "team_code",
                codes[i][0], codes[i][1], True, "bench")]
            with SqliteSignupStore(store) as opened:
                opened.store_batch("bench", fill_one, [], None, 0.0)
            assert board.refresh_now()
            walls.append(board.refresh_seconds)
            cpus.append(board.refresh_cpu_seconds)
        results["dashboard_refresh_s"] = walls
        results["dashboard_refresh_cpu_s"] = cpus
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open("/proc/loadavg", encoding="ascii") as handle:
            results["loadavg"] = handle.read().split()[:3]
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
