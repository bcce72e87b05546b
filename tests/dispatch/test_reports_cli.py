"""``sms serve-reports`` as a subprocess: each gateway's path reads that gateway's
``reports.*`` format, the bare path serves a single gateway, and a configured
``reports.token_env`` that is not set refuses to start (never serves unauthenticated)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger

from .helpers import CLI, announced_port, free_port

HEAD = """\
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
mode = "direct"
message = "invite"
ledger = "work/ledger.sqlite"

[channels.sms.reports]
port = {port}
{reports_extra}
[channels.sms.gateways.esms]
kind = "generic_http"
url = "http://127.0.0.1:9/send"
result = {{ status_field = "CodeResult", accepted = ["100"], id_field = "SMSID" }}
reports = {{ id_field = "SMSID", status_field = "SendStatus", status_map = {{ "5" = "delivered", "4" = "failed" }} }}
"""

SECOND = """
[channels.sms.gateways.sim]
kind = "generic_http"
url = "http://127.0.0.1:9/sms/send"
"""




def _accept(ledger_path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Rows (msisdn, gateway, carrier id) accepted by their gateway."""
    with SqliteLedger(ledger_path) as ledger:
        ledger.enqueue("t", "invite", [Recipient(m) for m, _, _ in rows], promotional=False,
                       now=1.0)
        claimed = ledger.claim("t", "invite", 1.0, 100)
        by_number = {m: (g, c) for m, g, c in rows}
        ledger.record([Result(q.id, SmsState.ACCEPTED, gateway=by_number[q.msisdn][0],
                              carrier_id=by_number[q.msisdn][1]) for q in claimed], 2.0)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(text: str, env: dict[str, str] | None = None,
              *options: str) -> subprocess.Popen[str]:
        (tmp_path / "campaign.toml").write_text(text, encoding="utf-8")
        proc = subprocess.Popen([CLI, "sms", "serve-reports", "campaign.toml", *options],
                                cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def _port(proc: subprocess.Popen[str]) -> int:
    """The port a ``serve-reports`` started on port 0 listens on, once it does (a port
    picked before could be taken meanwhile; 20 s of polling it was not always enough for
    the command to start on a loaded machine)."""
    assert proc.stderr is not None
    return announced_port(proc.stderr, "delivery reports: POST")[0]


def _post(url: str, body: object) -> httpx.Response:
    return httpx.post(url, json=body, timeout=30)


def test_each_gateway_path_reads_its_own_format(tmp_path: Path, serve: object) -> None:
    _accept(tmp_path / "work" / "ledger.sqlite",
            [("+84910000001", "esms", "7"), ("+84910000002", "sim", "7"),
             ("+84910000003", "esms", "8")])
    proc = serve(HEAD.format(port=0, reports_extra="") + SECOND,  # type: ignore[operator]
                 None, "--insecure")
    base = f"http://127.0.0.1:{_port(proc)}/dlr"
    # eSMS style: SMSID / SendStatus, one report per message
    r = _post(f"{base}/esms", {"SMSID": "7", "SendStatus": "4"})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "new": 1}
    # the simulator's format on its own path; the same id is another message
    r = _post(f"{base}/sim", {"message_id": "7", "status": "delivered"})
    assert r.status_code == 200 and r.json()["new"] == 1, r.text
    # the eSMS format is not the simulator's: a located 400, nothing stored
    r = _post(f"{base}/sim", {"SMSID": "8", "SendStatus": "5"})
    assert r.status_code == 400 and "message_id" in r.json()["error"], r.text
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
        states = {row.msisdn: row.state for row in ledger.rows("t")}
    assert states == {"+84910000001": SmsState.FAILED, "+84910000002": SmsState.DELIVERED,
                      "+84910000003": SmsState.ACCEPTED}


def test_the_bare_path_serves_a_single_gateway_in_its_format(tmp_path: Path,
                                                             serve: object) -> None:
    _accept(tmp_path / "work" / "ledger.sqlite", [("+84910000001", "esms", "E1")])
    proc = serve(HEAD.format(port=0, reports_extra=""), None,  # type: ignore[operator]
                 "--insecure")
    r = _post(f"http://127.0.0.1:{_port(proc)}/dlr", {"SMSID": "E1", "SendStatus": 5})
    assert r.status_code == 200, r.text
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
        assert next(ledger.rows("t")).state is SmsState.DELIVERED


def _env_without(name: str) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != name}


def test_a_token_env_that_is_not_set_refuses_to_serve(tmp_path: Path, serve: object) -> None:
    port = free_port()
    text = HEAD.format(port=port, reports_extra='token_env = "LC_TEST_NO_SUCH_TOKEN"\n')
    proc = serve(text, _env_without("LC_TEST_NO_SUCH_TOKEN"))  # type: ignore[operator]
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "channels.sms.reports.token_env" in err and "LC_TEST_NO_SUCH_TOKEN" in err, err
    with pytest.raises(httpx.TransportError):  # nothing listens
        httpx.post(f"http://127.0.0.1:{port}/dlr", json={}, timeout=1)


def test_a_token_env_that_is_set_is_required(tmp_path: Path, serve: object) -> None:
    text = HEAD.format(port=0, reports_extra='token_env = "LC_TEST_DLR_TOKEN"\n')
    env = {**_env_without("LC_TEST_DLR_TOKEN"), "LC_TEST_DLR_TOKEN": "Bearer s3cret"}
    proc = serve(text, env)  # type: ignore[operator]
    port = _port(proc)
    body = {"SMSID": "E1", "SendStatus": "5"}
    assert _post(f"http://127.0.0.1:{port}/dlr", body).status_code == 401
    r = httpx.post(f"http://127.0.0.1:{port}/dlr/esms", json=body,
                   headers={"Authorization": "Bearer s3cret"}, timeout=30)
    assert r.status_code == 200, r.text


def test_send_with_serve_reports_refuses_an_unset_token_env(tmp_path: Path) -> None:
    port = free_port()
    text = HEAD.format(port=port, reports_extra='token_env = "LC_TEST_NO_SUCH_TOKEN"\n')
    (tmp_path / "campaign.toml").write_text(text, encoding="utf-8")
    done = subprocess.run([CLI, "sms", "send", "campaign.toml", "--serve-reports",
                           "--no-progress"], cwd=tmp_path, env=_env_without("LC_TEST_NO_SUCH_TOKEN"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "channels.sms.reports.token_env" in done.stderr
    assert not (tmp_path / "work" / "ledger.sqlite").exists()  # refused before anything
