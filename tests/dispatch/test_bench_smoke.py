"""The dispatch benchmark runs end to end (a smoke test: no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_dispatch.py"


def test_bench_dispatch_runs_every_phase_and_sends_every_message() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--count", "1000", "--modes", "batch", "--repeat", "2"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    per_round = [line for line in lines if re.match(r"\s+(bare|engine|floor-\w+)\s+[\d,]+ msg/s", line)
                 and "1,000 in" in line]
    # 2 rounds × 4 phases, each with every message accepted by the store it writes to
    assert len(per_round) == 8, done.stdout
    assert "batch, medians of 2 rounds:" in lines
    medians = lines[lines.index("batch, medians of 2 rounds:") + 1:]
    assert [line.split()[0] for line in medians[:4]] == ["bare", "engine", "floor-ledger",
                                                          "floor-narrow"]
