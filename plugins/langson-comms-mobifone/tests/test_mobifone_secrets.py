"""The MobiFone gateway held to the test kit's secret check (issue 15, item 4): a send
with every logger at DEBUG — logging in, sessions expiring, 5xx and throttled answers —
leaves the password and the session ids nowhere: logs, events, ``sms status``, the
ledger and every file of the campaign's folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langson_comms_mobifone.testing import MobifoneSimulator
from test_mobifone_cli import CAMPAIGN, PASSWORD, SimulatorThread

from langson_comms.testing.secrets import assert_no_secret_leaks, check_send_keeps_secret


@pytest.fixture
def faulty() -> Iterator[SimulatorThread]:
    with SimulatorThread(MobifoneSimulator(password=PASSWORD, session_sends=7, fail_every=11,
                                           throttle_every=5)) as running:
        yield running


def test_mobifone_keeps_its_password_and_sessions_out_of_logs_ledger_and_status(
        tmp_path: Path, faulty: SimulatorThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSON_TEST_MOBIFONE_PASSWORD", PASSWORD)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(url=faulty.sim.url),
                                            encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8490{i:07d},mobifone,list.csv,{i + 2},Bạn {i}" for i in range(30)]
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = check_send_keeps_secret(tmp_path / "campaign.toml", PASSWORD,
                                    [tmp_path / "prepared.csv"])
    assert check.counts["accepted"] == 30
    assert "DEBUG" in check.logs and "HTTP Request: POST" in check.logs
    sim = faulty.sim
    assert sim.logins > 1 and sim.expired_answers > 0  # sessions expired and were replaced
    for sid in {a.sid for a in faulty.accepted()}:
        assert_no_secret_leaks(sid, check.logs + check.status, [tmp_path])
