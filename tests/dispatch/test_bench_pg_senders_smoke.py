"""The several-senders benchmark runs end to end (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_pg_senders.py"


def test_bench_pg_senders_runs_every_phase_and_sends_every_message(postgres_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--count", "2000", "--senders", "1,2", "--url",
         postgres_url], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout[done.stdout.index("\n{") + 1:])
    assert sorted(results) == ["postgresql-1", "postgresql-2", "sqlite-1"]
    for phase in results.values():
        assert sum(phase["per_sender"]) == 2000 and phase["msgs_per_s"] > 0
    assert len(results["postgresql-2"]["per_sender"]) == 2
