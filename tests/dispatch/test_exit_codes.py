"""Exit codes of every ``sms`` dispatch command through the real entry point (``main``;
the script as a subprocess for ``send`` and ``simulator``), as docs/cli.md lists them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from langson_comms.cli import main

from .helpers import CLI, announced_port, free_port
from .test_crash_resume import write_campaign

BROADCAST = """\
[campaign]
id = "t"
title = "T"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung"

[channels.sms]
kind = "sms"
message = "invite"
mode = "carrier_broadcast"
carriers = {carriers}
"""

DIRECT = """\
[campaign]
id = "t"
title = "T"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
message = "invite"
mode = "direct"

[channels.sms.gateways.a]
kind = "generic_http"
url = "http://127.0.0.1:9"

"""


def test_send_where_every_row_failed_exits_1_with_a_summary(tmp_path: Path,
                                                             carrier_simulator: Any) -> None:
    sim = carrier_simulator(honour_idempotency=True, reject_prefixes=("+8491",))
    write_campaign(tmp_path, sim, n=20, rate=10000)
    result = subprocess.run([CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv",
                             "--no-progress", "--json"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert json.loads(result.stdout.splitlines()[-1])["counts"]["failed"] == 20
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: every row failed: 20 failed, none accepted"), last


def test_send_status_pause_resume_cancel_exit_0(tmp_path: Path, carrier_simulator: Any) -> None:
    sim = carrier_simulator(honour_idempotency=True)
    path = str(write_campaign(tmp_path, sim, n=10, rate=10000))
    prepared = str(tmp_path / "prepared.csv")
    assert main(["sms", "send", path, "--audience", prepared, "--no-progress"]) == 0
    assert main(["sms", "status", path, "--json"]) == 0
    assert main(["sms", "pause", path]) == 0
    assert main(["sms", "send", path, "--audience", prepared, "--no-progress"]) == 1  # paused
    assert main(["sms", "resume", path, "--no-progress"]) == 0
    assert main(["sms", "cancel", path]) == 0
    assert main(["sms", "status", str(tmp_path / "missing.toml")]) == 2
    assert main(["sms", "send", path, "--message", "nope", "--no-progress"]) == 2


def test_broadcast_order_and_report_exit_codes(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(BROADCAST.format(carriers='["viettel"]'), encoding="utf-8")
    assert main(["sms", "broadcast-order", str(path)]) == 0
    report = ["sms", "broadcast-report", str(path), "--carrier", "viettel",
              "--subscribers", "400", "--sent", "300", "--delivered", "200"]
    assert main(report) == 0
    areas = tmp_path / "areas.csv"
    areas.write_text("area,subscribers,sent,delivered\n4805,900,1,1\n", encoding="utf-8")
    assert main([*report, "--areas", str(areas)]) == 2  # a bad --areas file
    assert main([*report[:-2], "--delivered", "many"]) == 2
    capsys.readouterr()


def test_serve_reports_with_an_unset_token_env_exits_2(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(DIRECT + '[channels.sms.reports]\ntoken_env = "LC_TEST_NO_SUCH_TOKEN"\n',
                    encoding="utf-8")
    os.environ.pop("LC_TEST_NO_SUCH_TOKEN", None)
    assert main(["sms", "serve-reports", str(path), "--port", str(free_port())]) == 2
    assert "LC_TEST_NO_SUCH_TOKEN is not set" in capsys.readouterr().err


def stops_with_exit_0(args: list[str], announcement: str, sig: signal.Signals,
                      cwd: Path | None = None, *, on_stderr: bool = False) -> None:
    """Start ``args`` (a server on port 0), wait until it says it listens and answers on
    the port it names, send ``sig``: exit code 0."""
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        stream = proc.stderr if on_stderr else proc.stdout
        assert stream is not None
        port, _ = announced_port(stream, announcement)
        socket.create_connection(("127.0.0.1", port), timeout=30).close()
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0, proc.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_simulator_stops_on_sigint_with_exit_0() -> None:
    stops_with_exit_0([CLI, "sms", "simulator", "--port", "0"], "carrier simulator on",
                      signal.SIGINT)
    assert main(["sms", "simulator", "--port", "not-a-port"]) == 2


def test_serve_reports_stops_on_sigterm_with_exit_0(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    # port 0 in the file: ``--port 0`` is taken for "no --port" (api.report_options)
    path.write_text(DIRECT + "[channels.sms.reports]\nport = 0\n", encoding="utf-8")
    stops_with_exit_0([CLI, "sms", "serve-reports", str(path), "--insecure"],
                      "delivery reports: POST", signal.SIGTERM, cwd=tmp_path, on_stderr=True)


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_ledger_value_is_a_located_error_not_the_campaign_folder(
        tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Accept: ``ledger = ""`` passed ``validate`` and became the campaign's folder:
    ``sms status`` read "ledger <folder>" and ``sms send`` said the folder "has 6 names (hard
    links)"."""
    path = tmp_path / "campaign.toml"
    path.write_text(DIRECT.replace('mode = "direct"\n', f'mode = "direct"\nledger = "{value}"\n'),
                    encoding="utf-8")
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "channels.sms.ledger" in err and "expected a file path" in err
