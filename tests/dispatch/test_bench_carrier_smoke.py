"""The carrier gateways benchmark runs end to end (a smoke test: no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_carrier_gateways.py"


def test_bench_carrier_gateways_measures_every_contender() -> None:
    done = subprocess.run([sys.executable, str(BENCH), "--count", "100", "--repeat", "1",
                           "--workers", "4"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("gateway "))
    measured = [line.split()[0] for line in lines[header + 1:] if line.strip()]
    assert {"generic_http", "viettel", "vnpt", "mobifone", "zns"} <= set(measured), done.stdout
