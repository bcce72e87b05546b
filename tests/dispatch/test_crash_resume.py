"""A real sender process killed with SIGKILL (and stopped with SIGTERM), then resumed."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from langson_comms.sms.ledger import SqliteLedger

from .helpers import CLI, announced_port, finish

CAMPAIGN = """\
[campaign]
id = "crash"
title = "Crash test"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang, {{ten}}"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "work/ledger.sqlite"
claim_size = 200

[channels.sms.gateways.sim]
kind = "generic_http"
url = "{url}"
batch_url = "{batch_url}"
max_batch = {max_batch}
supports_idempotency = true
rate_msgs = {rate}
timeout = 2.0
"""


def write_campaign(tmp: Path, sim: Any, *, n: int, rate: int, max_batch: int = 1) -> Path:
    path = tmp / "campaign.toml"
    path.write_text(CAMPAIGN.format(url=sim.url, batch_url=sim.batch_url, rate=rate,
                                    max_batch=max_batch), encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(n)]
    (tmp / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start(tmp: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "sms", *args], cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "120"})


def counts(tmp: Path) -> dict[str, int]:
    with SqliteLedger(tmp / "work" / "ledger.sqlite") as ledger:
        return ledger.counts("crash", "invite")


def wait_until(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_sigkill_at_random_points_then_resume_loses_and_duplicates_nothing(
        tmp_path: Path, carrier_simulator: Any) -> None:
    n = 3000
    sim = carrier_simulator(honour_idempotency=True)
    write_campaign(tmp_path, sim, n=n, rate=1500, max_batch=5)
    rng = random.Random(20220610)
    kills = 0
    for _ in range(3):
        already = len(sim.accepted_snapshot())
        target = already + rng.randint(150, 600)
        proc = start(tmp_path, "send", "campaign.toml", "--audience", "prepared.csv",
                     "--no-progress")
        try:
            wait_until(lambda t=target, p=proc: len(sim.accepted_snapshot()) >= t
                       or p.poll() is not None, 90)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
        kills += proc.returncode == -signal.SIGKILL
    assert kills == 3
    mid = counts(tmp_path)
    assert mid["accepted"] < n, "the sender finished before it was killed"
    final = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress", "--json"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["outcome"] == "completed"
    assert summary["counts"]["accepted"] == n
    assert sum(summary["counts"].values()) == n  # loading the file 3 times added nothing
    accepted = sim.accepted_snapshot()
    assert len(accepted) == n
    assert sim.duplicates() == {}
    assert {a.to for a in accepted} == {f"+8491{i:07d}" for i in range(n)}
    assert accepted[0].text.startswith("Tai ung dung Cong dan so Xu Lang, Ban ")


def test_sigterm_stops_cleanly_with_every_row_recorded(tmp_path: Path,
                                                       carrier_simulator: Any) -> None:
    n = 1500
    sim = carrier_simulator(honour_idempotency=True, slow=1.0, slow_seconds=0.05)
    write_campaign(tmp_path, sim, n=n, rate=600)
    proc = start(tmp_path, "send", "campaign.toml", "--audience", "prepared.csv",
                 "--no-progress")
    wait_until(lambda: len(sim.accepted_snapshot()) >= 100, 90)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopped by a signal" in err and out.startswith("stopped in ")
    after = counts(tmp_path)
    assert after["submitted"] == 0  # nothing left in flight: every answer was recorded
    assert after["accepted"] == len(sim.accepted_snapshot()) < n
    assert after["queued"] == n - after["accepted"]



def test_simulator_and_report_endpoint_as_commands(tmp_path: Path,
                                                   carrier_simulator: Any) -> None:
    import httpx

    # both on port 0, each saying its port once it listens (ports picked before could be
    # taken meanwhile): the report endpoint first, its port goes to the simulator
    write_campaign(tmp_path, carrier_simulator(), n=1, rate=10)
    with open(tmp_path / "campaign.toml", "a", encoding="utf-8") as handle:
        handle.write("\n[channels.sms.reports]\nport = 0\n")
    reports = start(tmp_path, "serve-reports", "campaign.toml", "--insecure")
    simulator = None
    try:
        assert reports.stderr is not None
        dlr_port, _ = announced_port(reports.stderr, "delivery reports: POST")
        simulator = start(tmp_path, "simulator", "--port", "0", "--idempotent",
                          "--dlr-url", f"http://127.0.0.1:{dlr_port}/dlr")
        assert simulator.stdout is not None
        sim_port, _ = announced_port(simulator.stdout, "carrier simulator on")
        body = {"to": "+84912345678", "text": "demo", "request_id": "k1"}
        first = httpx.post(f"http://127.0.0.1:{sim_port}/sms/send", json=body, timeout=30).json()
        again = httpx.post(f"http://127.0.0.1:{sim_port}/sms/send", json=body, timeout=30).json()
        assert first["status"] == "accepted" and again["message_id"] == first["message_id"]
        deadline = time.monotonic() + 30  # the simulator posts the report to serve-reports
        while time.monotonic() < deadline:
            stats = httpx.get(f"http://127.0.0.1:{sim_port}/stats", timeout=30).json()
            if stats["dlr_posted"]:
                break
            time.sleep(0.05)
    finally:
        if simulator is not None:
            simulator.send_signal(signal.SIGINT)
        reports.send_signal(signal.SIGTERM)
        sim_out, _ = finish(simulator) if simulator else ("", "")
        rep_out, rep_err = finish(reports)
    stats = json.loads(sim_out.strip().splitlines()[-1])
    assert stats["accepted"] == 1 and stats["replays"] == 1 and stats["dlr_posted"] == 1
    counters = json.loads(rep_out.strip().splitlines()[-1])
    assert counters == {"received": 1, "new": 1, "replayed": 0}, rep_err
