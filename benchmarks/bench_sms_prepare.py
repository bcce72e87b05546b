"""Benchmark: preparing a large SMS audience (``sms prepare``'s engine).

Generates an audience CSV of N rows — 5 % malformed (garbage, landlines, wrong
lengths, numbers phonenumbers rejects), 3 % duplicates, 1 % on a Do-Not-Call list,
valid numbers written in a mix of input shapes, with name and commune fields — then
prepares it in a fresh child process per size with the built-in policies, and reports
wall time, time inside phone validation, peak RSS and the size of the dedupe set.

    uv run python benchmarks/bench_sms_prepare.py                 # 250k, 500k, 1M rows
    uv run python benchmarks/bench_sms_prepare.py --rows 1000000 --no-fast-path

Targets (issue 3): 1,000,000 rows in ≤ 30 s and < 200 MB peak RSS; RSS must not grow
with rows beyond the dedupe set.  Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
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

SHAPES = (
    "0{n}", "0{n}", "0{n}", "+84{n}", "84{n}", "0{a}.{b}.{c}", "0{a} {b} {c}", "(+84) {a}-{b}-{c}",
    "{n}", "0084{n}",
)
PREFIXES = ("32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98", "81", "82",
            "83", "84", "85", "88", "91", "94", "70", "76", "77", "78", "79", "90", "93", "56",
            "58", "92", "59", "87")
MALFORMED = ("abc", "", "0205 3870 123", "091234567", "0892 345 678", "0912345678 / 098",
             "+1 202 555 0123", "0123456", "chưa có")
COMMUNES = ("Tân Thành", "Hoàng Đồng", "Mai Pha", "Chi Lăng", "Đồng Đăng", "Na Sầm", "Bắc Sơn",
            "Hữu Lũng", "Lộc Bình", "Đình Lập", "Văn Quan", "Bình Gia", "Tràng Định", "Cao Lộc")
NAMES = ("An", "Bình", "Cường", "Dung", "Đức", "Giang", "Hoa", "Hùng", "Lan", "Minh", "Nga", "Phương")


def generate(path: Path, dnc_path: Path, rows: int, seed: int = 1) -> dict[str, int]:
    """Write ``rows`` audience rows and the DNC list; return the intended mix."""
    rng = random.Random(seed)
    counts = {"malformed": 0, "duplicates": 0, "dnc": 0}
    issued: list[str] = []
    dnc: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as handle, dnc_path.open(
        "w", encoding="utf-8"
    ) as dnc_handle:
        writer = csv.writer(handle)
        writer.writerow(("Họ và tên", "Số điện thoại", "Xã"))
        for _ in range(rows):
            roll = rng.random()
            if roll < 0.05:
                raw = rng.choice(MALFORMED)
                counts["malformed"] += 1
            elif roll < 0.08 and issued:
                raw = rng.choice(issued)
                counts["duplicates"] += 1
            else:
                nsn = rng.choice(PREFIXES) + f"{rng.randrange(10_000_000):07d}"
                shape = rng.choice(SHAPES)
                raw = shape.format(n=nsn, a=nsn[:3], b=nsn[3:6], c=nsn[6:])
                if len(issued) < 200_000:
                    issued.append(raw)
                if roll < 0.09:
                    dnc.append(nsn)
                    counts["dnc"] += 1
            writer.writerow((f"Nguyễn Văn {rng.choice(NAMES)}", raw, rng.choice(COMMUNES)))
        dnc_handle.write("msisdn\n")
        for nsn in dnc:
            dnc_handle.write(f"0{nsn}\n")
    return counts


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(audience: Path, dnc: Path, fast_path: bool) -> dict[str, object]:
    """Prepare ``audience`` in this process and return the measurements."""
    import pendulum

    from langson_comms import LOCAL_TZ, ConfigContext, Runtime
    from langson_comms.messages import Message
    from langson_comms.sms.numbers import NumberNormalizer
    from langson_comms.sms.policies import CsvSendHistory, PolicyContext
    from langson_comms.sms.prepare import PrepareConfig, Preparer, build_policies

    baseline = rss_mb()
    runtime = Runtime.create(entry_points=False, env={})
    message = Message(key="invite",
                      text="Chào {ten}, mời tải “Công dân số Xứ Lạng” tại xã {xa}.")
    ctx = ConfigContext(source="bench", base_dir=dnc.parent, key="sms_prepare")
    config = PrepareConfig.from_config({
        "unaccented": True, "brandname": "UBND LSON", "max_segments": 3,
        "prices": {"default": 800},
        "policies": {"do_not_call": {"files": [dnc.name]},
                     "opt_out_footer": {"footer": "Tu choi QC soan TC gui 1234"}},
    }, ctx)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    selection = build_policies(runtime.registry, message, config, ctx)
    load_seconds = time.perf_counter() - t0
    after_setup = rss_mb()
    context = PolicyContext(now=pendulum.datetime(2022, 7, 1, 9, tz=LOCAL_TZ),
                            history=CsvSendHistory.empty())
    normalizer = NumberNormalizer(fast_path=fast_path)
    preparer = Preparer(message, selection, context, config, normalizer=normalizer,
                        time_numbers=True)
    out = audience.parent
    with (out / "prepared.csv").open("w", encoding="utf-8", newline="") as p, \
            (out / "quarantine.csv").open("w", encoding="utf-8", newline="") as q, \
            (out / "excluded.csv").open("w", encoding="utf-8", newline="") as e:
        plan = preparer.run([audience], p, q, e)
    peak = rss_mb()
    data = plan.as_dict()
    return {
        "rows": data["totals"]["rows_read"],
        "totals": data["totals"],
        "quarantined_by_reason": data["quarantined_by_reason"],
        "seconds_total": plan.seconds_total,
        "seconds_phone_validation": plan.seconds_numbers,
        "seconds_rest": plan.seconds_total - (plan.seconds_numbers or 0.0),
        "seconds_policy_load": load_seconds,
        "cpu_seconds": time.process_time() - cpu0,
        "fast_hits": normalizer.fast_hits,
        "phonenumbers_calls": normalizer.slow_calls,
        "rss_baseline_mb": round(baseline, 1),
        "rss_after_setup_mb": round(after_setup, 1),
        "rss_peak_mb": round(peak, 1),
        "dedupe_set_mb": data["memory"]["dedupe_mb"],
        "rss_peak_minus_dedupe_mb": round(peak - data["memory"]["dedupe_mb"], 1),
        "total_segments": data["total_segments"],
        "encodings": data["encodings"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append",
                        help="rows per run (repeatable; default 250000, 500000, 1000000)")
    parser.add_argument("--no-fast-path", action="store_true",
                        help="validate every number with a full phonenumbers parse")
    parser.add_argument("--child", nargs=2, metavar=("AUDIENCE", "DNC"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args()

    if args.child:
        result = run_child(Path(args.child[0]), Path(args.child[1]), not args.no_fast_path)
        print(json.dumps(result))
        return

    sizes = args.rows or [250_000, 500_000, 1_000_000]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        for rows in sizes:
            folder = Path(tmp) / str(rows)
            folder.mkdir()
            audience, dnc = folder / "audience.csv", folder / "dnc.csv"
            t0 = time.perf_counter()
            mix = generate(audience, dnc, rows)
            generated = time.perf_counter() - t0
            command = [sys.executable, __file__, "--child", str(audience), str(dnc)]
            if args.no_fast_path:
                command.append("--no-fast-path")
            t0 = time.perf_counter()
            child = subprocess.run(command, capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t0
            result = json.loads(child.stdout)
            result.update(generated_mix=mix, generate_seconds=round(generated, 1),
                          process_wall_seconds=round(wall, 2),
                          file_mb=round(audience.stat().st_size / 2**20, 1))
            results.append(result)
            if not args.json:
                print(f"{rows:>9,} rows: {result['seconds_total']:.1f} s preparing "
                      f"(phone validation {result['seconds_phone_validation']:.1f} s, rest "
                      f"{result['seconds_rest']:.1f} s), process {wall:.1f} s; peak RSS "
                      f"{result['rss_peak_mb']} MB (after setup {result['rss_after_setup_mb']} MB,"
                      f" dedupe set {result['dedupe_set_mb']} MB, peak minus set "
                      f"{result['rss_peak_minus_dedupe_mb']} MB); "
                      f"totals {result['totals']}; phonenumbers calls "
                      f"{result['phonenumbers_calls']:,}, fast path {result['fast_hits']:,}",
                      flush=True)
    if args.json:
        print(json.dumps({"machine": machine(), "results": results}, indent=2))
    else:
        print(json.dumps(machine()))


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "processor": platform.processor() or _cpu_model()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    main()
