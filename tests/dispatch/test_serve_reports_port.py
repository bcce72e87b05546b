"""``sms serve-reports --port 0`` means any free port (printed), not "no --port": the
configured ``reports.port`` is not used."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx

from .helpers import CLI, announced_port, finish
from .test_doors_cli import _campaign, _env


def test_port_0_serves_on_a_free_port_not_the_configured_one(tmp_path: Path) -> None:
    with socket.socket() as taken:  # the configured port is in use: falling back fails
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        configured = int(taken.getsockname()[1])
        _campaign(tmp_path, port=configured)
        proc = subprocess.Popen([CLI, "sms", "serve-reports", "campaign.toml", "--insecure",
                                 "--port", "0"], cwd=tmp_path, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            port, _seen = announced_port(proc.stderr, "delivery reports: POST")
            assert port not in (0, configured)
            r = httpx.post(f"http://127.0.0.1:{port}/dlr",
                           json={"SMSID": "E1", "SendStatus": "5"}, timeout=30)
            assert r.status_code == 200, r.text
        finally:
            proc.send_signal(signal.SIGTERM)
            finish(proc)
    assert proc.returncode == 0


def test_a_configured_port_in_use_is_a_located_error_not_an_unexpected_oserror(tmp_path: Path) -> None:
    """Accept: a ``reports.port`` another program holds stopped ``sms serve-reports`` (and
    ``sms send --serve-reports``) with "unexpected OSError: [Errno 98] ..." (exit 1): the
    error now names the file and key, says what was expected, and exits 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        configured = int(taken.getsockname()[1])
        _campaign(tmp_path, port=configured)
        proc = subprocess.run([CLI, "sms", "serve-reports", "campaign.toml", "--insecure"], cwd=tmp_path,
                              env=_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "unexpected" not in proc.stderr
    assert "campaign.toml" in proc.stderr and "channels.sms.reports.port" in proc.stderr
    assert f"127.0.0.1:{configured}" in proc.stderr and "free port" in proc.stderr
