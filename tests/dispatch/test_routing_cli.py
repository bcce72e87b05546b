"""Routing by carrier with number portability, as processes (issue 15, item 3): ``sms
send`` through two generic_http gateways on two simulators, the first answering "not my
subscriber" for ported numbers; ``sms status``; a sender killed with SIGKILL, resumed."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from langson_comms.sms.ledger import SqliteLedger

from .helpers import CLI
from .test_crash_resume import start, wait_until

CAMPAIGN = """\
[campaign]
id = "ported"
title = "Portability"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
ledger = "work/ledger.sqlite"
claim_size = 100
routes.viettel = ["v", "agg"]
default_gateway = "agg"

[channels.sms.gateways.v]
kind = "generic_http"
url = "{v}"
supports_idempotency = true
rate_msgs = {rate}
timeout = 2.0
result = {{ wrong_route = ["not_subscriber"] }}

[channels.sms.gateways.agg]
kind = "generic_http"
url = "{agg}"
supports_idempotency = true
rate_msgs = {rate}
timeout = 2.0
"""

PORTED = "+8492"  # the simulator of "v" answers "not_subscriber" for these


def _number(i: int) -> str:
    return f"+8492{i:07d}" if i % 2 else f"+8491{i:07d}"


def _write(tmp: Path, v: Any, agg: Any, *, n: int, rate: int) -> None:
    (tmp / "campaign.toml").write_text(CAMPAIGN.format(v=v.url, agg=agg.url, rate=rate),
                                       encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line"]
    lines += [f"{_number(i)},viettel,list.csv,{i + 2}" for i in range(n)]
    (tmp / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _refused(tmp: Path) -> set[str]:
    with SqliteLedger(tmp / "work" / "ledger.sqlite") as ledger:
        return {r.msisdn for r in ledger.rows("ported", "invite") if r.routes_tried}


def test_sms_send_delivers_ported_numbers_through_the_next_route(
        tmp_path: Path, carrier_simulator: Any) -> None:
    n = 60
    v = carrier_simulator(wrong_route_prefixes=(PORTED,))
    agg = carrier_simulator()
    _write(tmp_path, v, agg, n=n, rate=1000)
    sent = subprocess.run([CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv",
                           "--no-progress", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["counts"]["accepted"] == n
    ported = {_number(i) for i in range(n) if i % 2}
    assert {a.to for a in agg.accepted_snapshot()} == ported
    assert {a.to for a in v.accepted_snapshot()} == {_number(i) for i in range(n)} - ported
    assert sorted(v.wrong_routed) == sorted(ported)
    status = subprocess.run([CLI, "sms", "status", "campaign.toml", "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    routes = json.loads(status.stdout)["messages"]["invite"]["routes"]
    assert routes == {"by_gateway": {"agg": {"accepted": n // 2}, "v": {"accepted": n // 2}},
                      "fallbacks": {"v:not_subscriber": n // 2},
                      "rerouted": {"accepted": n // 2}}
    text = subprocess.run([CLI, "sms", "status", "campaign.toml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={"COLUMNS": "120", "PATH": ""})
    assert text.returncode == 0, text.stderr
    assert "gateway agg: 30 accepted" in text.stdout
    assert "30  sent on from v (not_subscriber)" in text.stdout


def test_sigkill_mid_run_then_resume_sends_nothing_twice_and_skips_refusals(
        tmp_path: Path, carrier_simulator: Any) -> None:
    n = 800
    v = carrier_simulator(wrong_route_prefixes=(PORTED,), honour_idempotency=True)
    agg = carrier_simulator(honour_idempotency=True)
    _write(tmp_path, v, agg, n=n, rate=400)
    proc = start(tmp_path, "send", "campaign.toml", "--audience", "prepared.csv",
                 "--no-progress")
    try:
        wait_until(lambda: len(agg.accepted_snapshot()) >= 100 or proc.poll() is not None, 90)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    refused = _refused(tmp_path)
    assert refused, "no refusal was recorded before the kill"
    asked_before = len(v.wrong_routed)
    final = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress", "--json"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["counts"]["accepted"] == n
    # a refusal recorded before the kill is not asked again
    assert not refused & set(v.wrong_routed[asked_before:])
    # every row was accepted once, by one gateway, the right one
    taken = [a.to for a in v.accepted_snapshot()] + [a.to for a in agg.accepted_snapshot()]
    assert len(taken) == n and set(taken) == {_number(i) for i in range(n)}
    assert all(not to.startswith(PORTED) for to in (a.to for a in v.accepted_snapshot()))
    assert _refused(tmp_path) == {_number(i) for i in range(n) if i % 2}
