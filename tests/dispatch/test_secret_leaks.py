"""The test kit's secret check (issue 15, item 4), and generic_http held to it: a send
with every logger at DEBUG leaves the credential nowhere — logs, events, status, ledger."""

from __future__ import annotations

import base64
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from langson_comms.testing.secrets import (
    assert_no_secret_leaks,
    check_send_keeps_secret,
    debug_logs,
)

SECRET = "Tk-9f8e7d6c5b4a"

CAMPAIGN = """\
[campaign]
id = "leaks"
title = "Secrets"
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

[channels.sms.retry]
base_delay = 0.01
max_delay = 0.05
max_attempts = 20

[channels.sms.gateways.agg]
kind = "generic_http"
url = "{url}"
supports_idempotency = true
auth_env = "LANGSON_TEST_AGG_KEY"
timeout = 2.0
"""


def test_the_check_finds_each_form_and_never_repeats_the_secret(tmp_path: Path) -> None:
    for text, form in [(f"key={SECRET}", "as written"),
                       ("Authorization: Basic " + base64.b64encode(SECRET.encode()).decode(),
                        "base64"),
                       ("GET /x?k=Tk-9f8e7d6c5b4a%0A", "as written")]:
        with pytest.raises(AssertionError, match=form) as info:
            assert_no_secret_leaks(SECRET, text)
        assert SECRET not in str(info.value)
    db = sqlite3.connect(tmp_path / "ledger.sqlite")
    db.execute("CREATE TABLE t (reason TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (f"HTTP 401: bad key {SECRET}",))
    db.commit()
    db.close()
    with pytest.raises(AssertionError, match=r"ledger\.sqlite, byte"):
        assert_no_secret_leaks(SECRET, "", [tmp_path])
    assert_no_secret_leaks(SECRET, "nothing here", [tmp_path / "absent"])
    with pytest.raises(ValueError, match="at least 6"):
        assert_no_secret_leaks("abc", "")


def test_debug_logs_capture_every_logger_at_debug() -> None:
    vendor = logging.getLogger("some.vendor.sdk")
    vendor.setLevel(logging.WARNING)  # a library that quiets itself is heard too
    with debug_logs() as logs:
        vendor.debug("sending with %s", SECRET)
    assert vendor.level == logging.WARNING
    with pytest.raises(AssertionError, match="captured output, line 1"):
        assert_no_secret_leaks(SECRET, logs.text)


def test_generic_http_keeps_its_credential_out_of_logs_ledger_and_status(
        tmp_path: Path, carrier_simulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # 5xx answers and rejections make the engine log retries, breakers and reasons
    sim = carrier_simulator(require_auth=SECRET, fail_5xx=0.2, honour_idempotency=True)
    monkeypatch.setenv("LANGSON_TEST_AGG_KEY", SECRET)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(url=sim.url), encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2}" for i in range(30)]
    lines += ["+84000123456,viettel,list.csv,40"]  # the simulator rejects it
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = check_send_keeps_secret(tmp_path / "campaign.toml", SECRET,
                                    [tmp_path / "prepared.csv"])
    assert check.counts["accepted"] == 30 and check.counts["failed"] == 1
    assert "DEBUG" in check.logs  # the send really ran at DEBUG
    assert sim.counters["http_401"] == 0  # the credential was sent, and kept
