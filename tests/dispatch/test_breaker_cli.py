"""``sms send`` prints every open and close of a circuit breaker and ``sms status``
shows them from the ledger (issue 13, item 7); the breaker table is validated."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from langson_comms.errors import CampaignFileError
from langson_comms.runtime import Runtime

from .helpers import CLI
from .test_cli_channel import HEAD, _load
from .test_crash_resume import start, wait_until, write_campaign


def test_send_prints_breaker_changes_and_status_shows_them(tmp_path: Path,
                                                           carrier_simulator: Any) -> None:
    sim = carrier_simulator(fail_5xx=1.0)  # down at first…
    path = write_campaign(tmp_path, sim, n=60, rate=10000)
    proc = start(tmp_path, "send", "campaign.toml", "--audience", "prepared.csv",
                 "--no-progress", "--json")
    try:
        wait_until(lambda: sim.stats().get("http_5xx", 0) >= 5, 90)  # a slow start under load
        sim.config.fail_5xx = 0.0  # …then back
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "gateway sim: circuit open (5 of the last 5 requests failed (100%); last: sim: " \
           "HTTP 503" in err, err
    assert "gateway sim: circuit closed (" in err and " s open)" in err, err
    assert "+8491" not in err
    summary = json.loads(out.splitlines()[-1])
    assert summary["counts"]["accepted"] == 60 and summary["stats"]["breaker_open"] >= 1
    status = subprocess.run([CLI, "sms", "status", str(path), "--json"], capture_output=True,
                            text=True, timeout=60, check=True)
    breaker = json.loads(status.stdout)["messages"]["invite"]["breakers"]["sim"]
    assert breaker["opens"] == summary["stats"]["breaker_open"]
    assert breaker["open_now"] is False and breaker["last_close"] is not None
    assert 0 < breaker["last_open_seconds"] < 30
    assert "HTTP 503" in breaker["last_open_reason"]
    text = subprocess.run([CLI, "sms", "status", str(path)], capture_output=True, text=True,
                          timeout=60, check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    assert "circuit breaker sim: opened" in text and "closed" in text, text


@pytest.mark.parametrize(("table", "expected"), [
    ("error_rate = 1.5", "channels.sms.breaker.error_rate: 1.5 is not a share in (0, 1]"),
    ("threshold = 10\nwindow = 5", "channels.sms.breaker.window: 5 is smaller than threshold"),
    ("reset_after = 0", "channels.sms.breaker.reset_after: 0.0 is too small (expected more than 0)"),
    ("reset_after = 5\nmax_reset_after = 2", "channels.sms.breaker.max_reset_after"),
])
def test_breaker_table_errors_are_located(tmp_path: Path, table: str, expected: str) -> None:
    with pytest.raises(CampaignFileError) as info:
        _load(tmp_path, 'message = "invite"\n[channels.sms.gateways.a]\nkind = "generic_http"\n'
                        f'url = "http://x"\n[channels.sms.breaker]\n{table}\n')
    assert expected in str(info.value)


def test_breaker_table_builds_the_engine_settings(tmp_path: Path) -> None:
    (tmp_path / "campaign.toml").write_text(
        HEAD.replace('text = "Tai ung dung"', 'text = "Tai ung dung"\n'
                     'classification = "public_notice"\nclassified_by = "So TT&TT"')
        + 'message = "invite"\n[channels.sms.gateways.a]\nkind = "generic_http"\n'
          'url = "http://x"\n[channels.sms.breaker]\nwindow = 60\nerror_rate = 0.7\n',
        encoding="utf-8")
    campaign = Runtime.create(entry_points=False, env={}).load_campaign(
        tmp_path / "campaign.toml")
    settings = campaign.channel("sms").config.breaker.settings()
    assert (settings.threshold, settings.window, settings.error_rate, settings.reset_after,
            settings.max_reset_after) == (5, 60, 0.7, 1.0, 30.0)
