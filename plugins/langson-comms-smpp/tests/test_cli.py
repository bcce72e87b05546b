"""``langson-comms sms send`` as a subprocess through an SMPP gateway to the test SMSC.

The SMSC runs in this process, on its own event loop in a background thread; the
sender is a real ``langson-comms`` process that finds the plugin through its entry
point, reads the password from the environment, polls the receipts while it waits
(``--wait-reports``) and unbinds when it is done (``SmsGateway.close``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from langson_comms_smpp.testing import Submitted, TestSmsc

from langson_comms.testing.loopback import ServerThread

CLI = str(Path(sys.executable).parent / "langson-comms")

CAMPAIGN = """\
[campaign]
id = "smpp_cli"
title = "SMPP from the command line"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang, {{ten}}"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "work/ledger.sqlite"

[channels.sms.reports]
poll_interval = 0.2

[channels.sms.gateways.viettel_smpp]
kind = "smpp"
host = "127.0.0.1"
port = {port}
system_id = "langson"
password_env = "LANGSON_TEST_SMPP_PASSWORD"
window = 8
throttle_backoff = 0.05
bind_timeout = 2.0
response_timeout = 2.0
"""


class SmscThread(ServerThread[TestSmsc]):
    """A ``TestSmsc`` on its own event loop in a daemon thread."""

    def __init__(self, smsc: TestSmsc) -> None:
        super().__init__(smsc, name="test-smsc")
        self.smsc = smsc

    def snapshot(self) -> tuple[list[Submitted], int, int, int]:
        """(accepted, submits, binds, unbinds), read on the SMSC's loop."""
        return self.read(lambda s: (list(s.accepted), s.submits, s.binds, s.unbinds))


@pytest.fixture
def smsc() -> Iterator[SmscThread]:
    # every 9th submit_sm is throttled: the engine must retry those, not send twice
    with SmscThread(TestSmsc(password="secret", throttle_every=9)) as running:
        yield running


def test_sms_send_through_smpp_accepts_delivers_and_unbinds(tmp_path: Path,
                                                            smsc: SmscThread) -> None:
    n = 40
    (tmp_path / "campaign.toml").write_text(CAMPAIGN.format(port=smsc.smsc.port),
                                            encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(n)]
    (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = subprocess.run(
        [CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv", "--no-progress",
         "--json", "--wait-reports", "15"],
        cwd=tmp_path, capture_output=True, text=True, timeout=90,
        env={**os.environ, "LANGSON_TEST_SMPP_PASSWORD": "secret", "COLUMNS": "120"})

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["outcome"] == "completed", summary
    counts = summary["counts"]
    assert counts["delivered"] == n, (counts, done.stderr)  # accepted, then receipted
    assert sum(counts.values()) == n
    accepted, submits, binds, unbinds = smsc.snapshot()
    seen = Counter(s.destination for s in accepted)
    assert set(seen) == {f"8491{i:07d}" for i in range(n)}
    assert max(seen.values()) == 1, "the SMSC accepted a number twice"
    assert submits > n  # some were throttled and sent again
    assert {(s.source, s.source_ton) for s in accepted} == {("LANGSON", 5)}
    assert accepted[0].text().startswith("Tai ung dung Cong dan so Xu Lang, Ban ")
    assert binds == 1
    assert unbinds == 1, "sms send ended without unbinding its SMPP session"
    assert "closing gateway" not in done.stderr
