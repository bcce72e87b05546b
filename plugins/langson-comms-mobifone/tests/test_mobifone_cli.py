"""``langson-comms sms send`` as a subprocess through the MobiFone gateway, killed with
SIGKILL mid-run and resumed: every row accepted once at the simulator (the requestId is
the row's idempotency key), and no credential in anything the processes printed.

The simulator runs in this process, on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from langson_comms_mobifone.testing import Accepted, MobifoneSimulator

CLI = str(Path(sys.executable).parent / "langson-comms")
T = TypeVar("T")
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


class SimulatorThread:
    """A ``MobifoneSimulator`` on its own event loop in a daemon thread."""

    def __init__(self, sim: MobifoneSimulator) -> None:
        self.sim = sim
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-mobifone",
                                       daemon=True)

    def call(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout)

    def __enter__(self) -> SimulatorThread:
        self.thread.start()
        self.call(self.sim.start)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self.sim.stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def accepted(self) -> list[Accepted]:
        async def read() -> list[Accepted]:
            return list(self.sim.accepted)

        return self.call(read)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    # slow enough to be killed mid-run; sessions expire on the way
    with SimulatorThread(MobifoneSimulator(password=PASSWORD, delay=0.004,
                                           session_sends=60)) as running:
        yield running


def _start(tmp: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, "sms", *args], cwd=tmp, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "120",
                                 "LANGSON_TEST_MOBIFONE_PASSWORD": PASSWORD})


def test_sigkill_then_resume_sends_every_row_once(tmp_path: Path, sim: SimulatorThread) -> None:
    n = 400
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(url=sim.sim.url), encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8490{i:07d},mobifone,list.csv,{i + 2},Bạn {i}" for i in range(n)]
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    printed = ""
    for target in (80, 200):
        proc = _start(tmp_path, "send", "campaign.toml", "--audience", "prepared.csv",
                      "--no-progress")
        deadline = time.monotonic() + 60  # a loaded machine may take long to start it
        while len(sim.accepted()) < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the sender made no progress"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        printed += out + err
        assert proc.returncode == -signal.SIGKILL, err
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
