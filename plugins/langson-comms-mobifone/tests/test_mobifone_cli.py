"""``langson-comms sms send`` as a subprocess through the MobiFone gateway, killed with
SIGKILL mid-run and resumed: every row accepted once at the simulator (the requestId is
the row's idempotency key), and no credential in anything the processes printed.

The simulator runs in this process, on its own event loop in a background thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from langson_comms_mobifone.testing import Accepted, MobifoneSimulator

from langson_comms.testing.loopback import ServerThread, kill_sender

CLI = str(Path(sys.executable).parent / "langson-comms")
PASSWORD = "cli-mobi-password-7"

CAMPAIGN = """\
[campaign]
id = "mbf"
title = "MobiFone from the command line"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tải ứng dụng Công dân số Xứ Lạng, {{ten}}"
classification = "public_notice"
classified_by = "Sở TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "work/ledger.sqlite"
claim_size = 50

[channels.sms.gateways.mobifone]
kind = "mobifone"
url = "{url}"
username = "langson"
password_env = "LANGSON_TEST_MOBIFONE_PASSWORD"
max_batch = 5
concurrency = 4
timeout = 2.0
throttle_backoff = 0.05
"""


class SimulatorThread(ServerThread[MobifoneSimulator]):
    """A ``MobifoneSimulator`` on its own event loop in a daemon thread."""

    def __init__(self, sim: MobifoneSimulator) -> None:
        super().__init__(sim, name="test-mobifone")
        self.sim = sim

    def accepted(self) -> list[Accepted]:
        return self.read(lambda s: list(s.accepted))


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    # slow enough to be killed mid-run; sessions expire on the way
    with SimulatorThread(MobifoneSimulator(password=PASSWORD, delay=0.004,
                                           session_sends=60)) as running:
        yield running


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120", "LANGSON_TEST_MOBIFONE_PASSWORD": PASSWORD}


def test_sigkill_then_resume_sends_every_row_once(tmp_path: Path, sim: SimulatorThread) -> None:
    n = 400
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(url=sim.sim.url), encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8490{i:07d},mobifone,list.csv,{i + 2},Bạn {i}" for i in range(n)]
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    printed = ""
    for target in (80, 200):
        def taken(target: int = target) -> bool:
            return len(sim.accepted()) >= target

        printed += kill_sender(["sms", "send", "campaign.toml", "--audience", "prepared.csv",
                                "--no-progress"], cwd=tmp_path, env=_env(), until=taken)
    assert len(sim.accepted()) < n, "the sender finished before it was killed"

    done = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress", "--json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=90,
                          env={**os.environ, "LANGSON_TEST_MOBIFONE_PASSWORD": PASSWORD})
    printed += done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["outcome"] == "completed", summary
    assert summary["counts"]["accepted"] == n and sum(summary["counts"].values()) == n
    accepted = sim.accepted()
    assert sorted(a.recipient for a in accepted) == [f"8490{i:07d}" for i in range(n)], (
        "a row was lost or the simulator took one twice")
    assert accepted[0].unicode and accepted[0].content.startswith("Tải ứng dụng Công dân số")
    for secret in [PASSWORD, *{a.sid for a in accepted}]:
        assert secret not in printed
        assert secret.encode() not in (tmp_path / "work" / "ledger.sqlite").read_bytes()
