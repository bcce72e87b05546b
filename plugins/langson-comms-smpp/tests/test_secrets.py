"""The SMPP gateway held to the test kit's secret check (issue 15, item 4): a send with
every logger at DEBUG (the bind carries the password) leaves it nowhere — logs, events,
``sms status``, the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langson_comms_smpp.testing import TestSmsc
from test_cli import CAMPAIGN, SmscThread

from langson_comms.testing.secrets import check_send_keeps_secret

PASSWORD = "Pw7-q2Zx"  # SMPP passwords are at most 8 characters


@pytest.fixture
def smsc() -> Iterator[SmscThread]:
    # throttled submits make the engine log retries
    with SmscThread(TestSmsc(password=PASSWORD, throttle_every=7)) as running:
        yield running


def test_smpp_keeps_its_password_out_of_logs_ledger_and_status(
        tmp_path: Path, smsc: SmscThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSON_TEST_SMPP_PASSWORD", PASSWORD)
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(port=smsc.smsc.port),
                                            encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(20)]
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    check = check_send_keeps_secret(tmp_path / "campaign.toml", PASSWORD,
                                    [tmp_path / "prepared.csv"])
    assert check.counts["accepted"] + check.counts["delivered"] == 20
    assert "DEBUG" in check.logs
    assert smsc.snapshot()[2] >= 1  # it did bind, with the password
