"""Two ``sms send`` processes on one ledger, one reaching it through a symlink: each
recipient gets the SMS exactly once (issue 13 item 5); ``sms status`` says "running" only
while a sender holds a live lease (issue 14, operators)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from langson_comms.sms.lease import LeaseOwner, SenderLease
from langson_comms.sms.ledger import SqliteLedger

from .helpers import CLI
from .test_crash_resume import start, wait_until, write_campaign


def test_two_senders_one_through_a_symlink_send_each_recipient_once(
        tmp_path: Path, carrier_simulator: Any) -> None:
    n = 2000
    sim = carrier_simulator()  # does NOT de-duplicate: a second sender would show
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    # 20 msg/s: the first sender is still sending (100 s) whatever the machine's load (at
    # 100 msg/s, under load 9, it had finished by the time the second one was refused)
    write_campaign(first_dir, sim, n=n, rate=20)
    # the second campaign file reaches the same ledger file through a symlink
    (second_dir / "work").mkdir()
    (second_dir / "work" / "ledger.sqlite").symlink_to(first_dir / "work" / "ledger.sqlite")
    write_campaign(second_dir, sim, n=0, rate=100)
    (second_dir / "prepared.csv").write_text(
        (first_dir / "prepared.csv").read_text(encoding="utf-8"), encoding="utf-8")
    first = start(first_dir, "send", "campaign.toml", "--audience", "prepared.csv",
                  "--no-progress")
    try:
        wait_until(lambda: len(sim.accepted_snapshot()) >= 20 or first.poll() is not None, 90)
        assert first.poll() is None, "the first sender finished before the second started"
        second = subprocess.run(
            [CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv", "--no-progress"],
            cwd=second_dir, capture_output=True, text=True, timeout=120)
        still_sending = first.poll() is None
        first.send_signal(signal.SIGTERM)  # stops cleanly, every row recorded
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert sim.duplicates() == {}
    assert still_sending, "the first sender finished before the second tried"
    assert first.returncode == 130, err
    assert second.returncode == 1, second.stderr
    assert "another sender is already sending 'invite'" in second.stderr
    assert f"pid {first.pid} on " in second.stderr
    # now the first has stopped: the second goes on through the symlink, and finishes
    write_campaign(second_dir, sim, n=0, rate=5000)
    rest = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress"],
                          cwd=second_dir, capture_output=True, text=True, timeout=120)
    assert rest.returncode == 0, rest.stderr
    assert sim.duplicates() == {}
    assert len(sim.accepted_snapshot()) == n


def status(folder: Path) -> tuple[dict[str, Any], str]:
    as_json = subprocess.run([CLI, "sms", "status", "campaign.toml", "--json"], cwd=folder,
                             capture_output=True, text=True, timeout=60, check=True)
    text = subprocess.run([CLI, "sms", "status", "campaign.toml"], cwd=folder,
                          capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, "COLUMNS": "200"})
    return json.loads(as_json.stdout)["messages"]["invite"], text.stdout


def test_status_says_running_only_while_a_sender_holds_a_live_lease(
        tmp_path: Path, carrier_simulator: Any) -> None:
    write_campaign(tmp_path, carrier_simulator(), n=20, rate=1000)
    done = subprocess.run([CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv",
                           "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    info, text = status(tmp_path)
    assert info["sender"] is None
    assert "invite (not running)" in text and "running)" not in text.replace("not running)", "")
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as store:
        with SenderLease(store, "crash", "invite", owner=LeaseOwner(host="sender-a", pid=77)):
            info, text = status(tmp_path)
            assert info["sender"]["host"] == "sender-a" and info["sender"]["pid"] == 77
            assert info["sender"]["heartbeat_age"] < 30
            assert "invite (running)" in text
            assert "sender: pid 77 on sender-a, heartbeat" in text
        # a crashed sender's lease, past its expiry, is not "running" either
        store.acquire_lease("crash", "invite", LeaseOwner(host="gone", pid=5), 1000.0, 30)
        info, text = status(tmp_path)
        assert info["sender"] is None and "invite (not running)" in text
