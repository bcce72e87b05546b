"""``langson-comms sms send`` through the Viettel gateway: a real sender process killed
with SIGKILL mid-run and resumed (0 duplicates at the simulator), and a send with DEBUG
logging that never shows the password."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from viettel_helpers import PASSWORD, simulator

from langson_comms import Runtime, api
from langson_comms.sms.ledger import SqliteLedger
from langson_comms.testing.loopback import kill_sender

CLI = str(Path(sys.executable).parent / "langson-comms")

CAMPAIGN = """\
[campaign]
id = "viettel_cli"
title = "Viettel from the command line"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang, {{{{ten}}}}"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "work/ledger.sqlite"

[channels.sms.gateways.viettel]
kind = "viettel"
url = "{url}"
user = "langson"
cp_code = "LANGSON_CP"
{secret}
rate_msgs = {rate}
timeout = 0.3
throttle_backoff = 0.05

[channels.sms.retry]
max_attempts = 20
base_delay = 0.02
max_delay = 0.2
"""


def write(tmp: Path, url: str, numbers: list[str], *, rate: int,
          secret: str = 'password_env = "LANGSON_TEST_VIETTEL_PASSWORD"') -> None:
    (tmp / "campaign.toml").write_text(CAMPAIGN.format(url=url, rate=rate, secret=secret),
                                       encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"{n},viettel,list.csv,{i + 2},Ban {i}" for i, n in enumerate(numbers)]
    (tmp / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_killed_mid_run_then_resumed_sends_each_message_once(tmp_path: Path) -> None:
    n = 400
    numbers = [f"+8496{i:07d}" for i in range(n)]
    env = {**os.environ, "LANGSON_TEST_VIETTEL_PASSWORD": PASSWORD, "COLUMNS": "120"}
    # lost answers (accepted, answer never seen) and throttling on the way
    with simulator(timeout=0.03, hang_seconds=0.6, throttle_every=11, seed=7) as sim:
        write(tmp_path, sim.url, numbers, rate=300)
        kill_sender(["sms", "send", "campaign.toml", "--audience", "prepared.csv", "--no-progress"],
                    cwd=tmp_path, env=env, until=lambda: len(sim.accepted_snapshot()) >= 120,
                    timeout=90)
        with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
            assert ledger.counts("viettel_cli", "invite")["accepted"] < n, "finished before the kill"
        sim.timeout = 0.0
        done = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress", "--json"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert summary["outcome"] == "completed", summary
        assert summary["counts"]["accepted"] == n and sum(summary["counts"].values()) == n
        accepted = sim.accepted_snapshot()
        assert sim.duplicates() == {}
        assert sorted(a.msisdn for a in accepted) == sorted(m.removeprefix("+") for m in numbers)
        assert sim.counters["replays"] > 0, "no resend of a lost answer was recognised"
        assert sim.counters["throttled"] > 0
        assert {a.service_id for a in accepted} == {"LANGSON"}
        for out in (done.stdout, done.stderr):
            assert PASSWORD not in out


def test_the_password_appears_in_no_log_output_or_ledger(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "viettel.pass"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)
    # good numbers, an invalid one, a ported one; faults that echo the request's password
    numbers = [f"+8496{i:07d}" for i in range(30)] + ["+84000123456", "+84881234567"]
    with simulator(fail_5xx=0.3, echo_secrets=True, seed=3) as sim:
        write(tmp_path, sim.url, numbers, rate=500, secret='password_file = "viettel.pass"')
        caplog.set_level(logging.DEBUG)
        runtime = Runtime.create(env={})
        campaign = api.load_campaign(tmp_path / "campaign.toml", runtime=runtime)
        import asyncio

        summary = asyncio.run(asyncio.wait_for(api.send_sms(
            api.sms_target(campaign), runtime=runtime, audience=[str(tmp_path / "prepared.csv")]), 60))
    assert summary.counts["accepted"] == 30, summary
    assert sim.counters["http_5xx"] > 0  # the echoing faults did happen
    captured = capsys.readouterr()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "work").iterdir())
    assert any(r.levelno == logging.DEBUG for r in caplog.records)
    assert PASSWORD not in caplog.text
    assert PASSWORD not in captured.out + captured.err
    assert PASSWORD.encode() not in stored
    assert b"INVALID_MSISDN" in stored  # the refusals' reasons are in the ledger, cleaned


def test_validate_refuses_a_password_in_the_campaign_file_without_repeating_it(
        tmp_path: Path) -> None:
    write(tmp_path, "https://api.example.vn/bulkapi", ["+84961234567"], rate=10,
          secret=f'password = "{PASSWORD}"')
    done = subprocess.run([CLI, "validate", "campaign.toml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "campaign.toml:" in done.stderr and "channels.sms.gateways.viettel.password" in done.stderr
    assert "password_env" in done.stderr
    assert PASSWORD not in done.stdout + done.stderr
