"""``langson-comms sms send`` as a subprocess with ZNS first and SMS after it: numbers
without Zalo go on to the SMS gateway (recorded as such in the ledger), the sender is
killed with SIGKILL twice and resumed, and every row is taken once — by Zalo or by the
SMS gateway, never both, never twice.  Then the same campaign through the test kit's
secret check: the app secret and the OAuth tokens are in no log, status or ledger.

The Zalo simulator runs in this process on its own event loop in a background thread;
the SMS side is the core's carrier simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langson_comms_zalo.testing import ZaloSimulator, ZnsAccepted
from zns_helpers import APP_SECRET, write_tokens

from langson_comms.testing.loopback import ServerThread, kill_sender
from langson_comms.testing.secrets import assert_no_secret_leaks, check_send_keeps_secret

CLI = str(Path(sys.executable).parent / "langson-comms")

CAMPAIGN = """\
[campaign]
id = "zns"
title = "ZNS first, then SMS"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Chào {{ten}}, hãy tải ứng dụng Công dân số Xứ Lạng"
classification = "public_notice"
classified_by = "Sở TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "work/ledger.sqlite"
claim_size = 50
default_gateway = ["zns", "sms"]

[channels.sms.gateways.zns]
kind = "zns"
app_id = "4321"
app_secret_env = "LANGSON_TEST_ZALO_SECRET"
token_file = "{tokens}"
template_id = "231456"
template_data = {{ ten = "{{ten}}" }}
text_pattern = '^Chào (?P<ten>[^,]+),'
url = "{url}"
oauth_url = "{oauth_url}"
max_batch = 5
concurrency = 4
timeout = 2.0
throttle_backoff = 0.05

[channels.sms.gateways.sms]
kind = "generic_http"
url = "{sms_url}"
supports_idempotency = true
timeout = 2.0
"""


class SimulatorThread(ServerThread[ZaloSimulator]):
    """A ``ZaloSimulator`` on its own event loop in a daemon thread."""

    def __init__(self, sim: ZaloSimulator) -> None:
        super().__init__(sim, name="test-zalo")
        self.sim = sim

    def accepted(self) -> list[ZnsAccepted]:
        return self.read(lambda s: list(s.accepted))


NO_ZALO = {f"8498{i:07d}" for i in range(0, 300, 7)}


@pytest.fixture
def zalo() -> Iterator[SimulatorThread]:
    # slow enough to be killed mid-run; access tokens expire on the way
    with SimulatorThread(ZaloSimulator(app_secret=APP_SECRET, delay=0.004, access_sends=70,
                                       no_zalo=set(NO_ZALO))) as running:
        yield running


def _write(tmp_path: Path, zalo: SimulatorThread, sms_url: str, n: int) -> Path:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (tmp_path / "secrets").mkdir()
    tokens = write_tokens(tmp_path / "secrets" / "zalo-tokens.json", refresh="refresh-0")
    (folder / "campaign.toml").write_text(CAMPAIGN.format(
        tokens=tokens, url=zalo.sim.url, oauth_url=zalo.sim.oauth_url, sms_url=sms_url),
        encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8498{i:07d},viettel,list.csv,{i + 2},bạn {i}" for i in range(n)]
    (folder / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "120", "LANGSON_TEST_ZALO_SECRET": APP_SECRET}


def test_zns_first_then_sms_killed_and_resumed_takes_every_row_once(
        tmp_path: Path, zalo: SimulatorThread, carrier_simulator: Any) -> None:
    n = 300
    sms = carrier_simulator(honour_idempotency=True)
    folder = _write(tmp_path, zalo, sms.url, n)
    printed = ""
    for target in (60, 150):
        def taken(target: int = target) -> bool:
            return len(zalo.accepted()) >= target

        printed += kill_sender(["sms", "send", "campaign.toml", "--audience", "prepared.csv",
                                "--no-progress"], cwd=folder, env=_env(), until=taken)
    assert len(zalo.accepted()) < n - len(NO_ZALO), "the sender finished before it was killed"

    done = subprocess.run([CLI, "sms", "resume", "campaign.toml", "--no-progress", "--json"],
                          cwd=folder, capture_output=True, text=True, timeout=90, env=_env())
    printed += done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["accepted"] == n
    status = subprocess.run([CLI, "sms", "status", "campaign.toml", "--json"], cwd=folder,
                            capture_output=True, text=True, timeout=60, env=_env())
    printed += status.stdout + status.stderr

    by_zalo = [a.phone for a in zalo.accepted()]
    by_sms = [a.to.removeprefix("+") for a in sms.accepted_snapshot()]
    assert len(by_zalo) == len(set(by_zalo)) and sms.duplicates() == {}, "a row taken twice"
    assert set(by_sms) == NO_ZALO, "numbers without Zalo go by SMS, the others by Zalo"
    assert sorted(by_zalo + by_sms) == [f"8498{i:07d}" for i in range(n)]
    assert not zalo.sim.locked_out and zalo.sim.refreshes >= 2
    assert f'"zns:no_zalo_account": {len(NO_ZALO)}' in status.stdout, status.stdout
    for secret in [APP_SECRET, *{a.access_token for a in zalo.accepted()}]:
        assert_no_secret_leaks(secret, printed, [folder])


def test_zns_keeps_the_app_secret_and_tokens_out_of_logs_ledger_and_status(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, carrier_simulator: Any) -> None:
    with SimulatorThread(ZaloSimulator(app_secret=APP_SECRET, access_sends=4, fail_every=9,
                                       throttle_every=6, no_zalo={"84980000003"})) as zalo:
        folder = _write(tmp_path, zalo, carrier_simulator().url, 20)
        monkeypatch.setenv("LANGSON_TEST_ZALO_SECRET", APP_SECRET)
        check = check_send_keeps_secret(folder / "campaign.toml", APP_SECRET,
                                        [folder / "prepared.csv"])
        assert check.counts["accepted"] == 20
        assert "HTTP Request: POST" in check.logs and zalo.sim.refreshes > 1
        tokens = {a.access_token for a in zalo.accepted()} | {zalo.sim.current_refresh_token()}
        for token in tokens:
            assert_no_secret_leaks(token, check.logs + check.status, [folder])
