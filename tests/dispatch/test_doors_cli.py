"""No open door and no echoed secret, as a user meets them: the CLI as a subprocess
(issue 13, items 9 and 10)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx
from aiohttp import web

from langson_comms.sms.ledger import SqliteLedger

from .helpers import CLI, announced_port, finish, free_port, serve
from .test_reports_cli import HEAD

API_KEY = "k3y-0f-the-Province-4242"


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_TEST_")}
    return {**env, **values}


def _run(tmp: Path, *args: str, env: dict[str, str] | None = None,
         timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=tmp, env=env or _env(), capture_output=True,
                          text=True, timeout=timeout)


def _campaign(tmp: Path, reports_extra: str = "", port: int | None = None) -> Path:
    path = tmp / "campaign.toml"
    path.write_text(HEAD.format(port=port or free_port(), reports_extra=reports_extra),
                    encoding="utf-8")
    return path


def test_serve_reports_without_a_token_refuses_unless_insecure_on_loopback(
        tmp_path: Path) -> None:
    port = free_port()  # not listened on: these runs refuse before they bind
    _campaign(tmp_path, port=port)
    refused = _run(tmp_path, "sms", "serve-reports", "campaign.toml")
    assert refused.returncode == 2, refused.stderr
    assert "channels.sms.reports.token_env" in refused.stderr
    assert "--insecure" in refused.stderr
    wide = _run(tmp_path, "sms", "serve-reports", "campaign.toml", "--insecure",
                "--host", "0.0.0.0")
    assert wide.returncode == 2 and "loopback" in wide.stderr, wide.stderr
    empty = _run(tmp_path.parent, "sms", "serve-reports", str(_campaign(
        tmp_path, 'token_env = "LC_TEST_DLR_TOKEN"\n', port)), env=_env(LC_TEST_DLR_TOKEN=""))
    assert empty.returncode == 2 and "LC_TEST_DLR_TOKEN is empty" in empty.stderr, empty.stderr
    # port 0: the server takes a free port and says which once it listens (a port picked
    # before could be taken meanwhile; 20 s of polling it was once not enough under load)
    _campaign(tmp_path, port=0)
    proc = subprocess.Popen([CLI, "sms", "serve-reports", "campaign.toml", "--insecure"],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        port, seen = announced_port(proc.stderr, "delivery reports: POST")
        r = httpx.post(f"http://127.0.0.1:{port}/dlr",
                       json={"SMSID": "E1", "SendStatus": "5"}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = finish(proc)
    assert "WARNING: --insecure" in "".join(seen) + err


def test_validate_refuses_a_non_loopback_endpoint_without_a_token(tmp_path: Path) -> None:
    _campaign(tmp_path, 'host = "0.0.0.0"\n')
    done = _run(tmp_path, "validate", "campaign.toml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "channels.sms.reports.token_env" in done.stderr
    _campaign(tmp_path, 'host = "0.0.0.0"\ntoken_env = "LC_TEST_DLR_TOKEN"\n')
    assert _run(tmp_path, "validate", "campaign.toml").returncode == 0


def test_credentials_in_a_gateway_url_are_a_validate_error_that_hides_them(
        tmp_path: Path) -> None:
    path = _campaign(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "http://127.0.0.1:9/send", f"https://user:{API_KEY}@sms.example.vn/send"),
        encoding="utf-8")
    done = _run(tmp_path, "validate", "campaign.toml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "channels.sms.gateways.esms.url" in done.stderr and "credentials" in done.stderr
    assert API_KEY not in done.stdout + done.stderr


def test_a_credential_in_a_gateway_url_query_is_a_validate_error_that_hides_it(
        tmp_path: Path) -> None:
    """The review: ``?apikey=…`` passed validate (only ``user:pass@`` was caught)."""
    path = _campaign(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        "http://127.0.0.1:9/send", f"https://sms.example.vn/send?brand=X&ApiKey={API_KEY}"),
        encoding="utf-8")
    done = _run(tmp_path, "validate", "campaign.toml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "channels.sms.gateways.esms.url" in done.stderr and "ApiKey" in done.stderr
    assert API_KEY not in done.stdout + done.stderr


def test_a_gateway_error_repeating_the_credential_is_stored_and_shown_scrubbed(
        tmp_path: Path) -> None:
    """A vendor that says ``invalid key <the key>``: neither the ledger's reason, nor
    ``sms send``/``sms status`` output, nor a log line holds the key."""

    async def vendor(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "")
        return web.Response(status=400, text=f"invalid sender for key {given}")

    async def main() -> tuple[subprocess.CompletedProcess[str], str]:
        runner, base = await serve(vendor)
        try:
            path = tmp_path / "campaign.toml"
            text = HEAD.format(port=free_port(), reports_extra="").replace(
                'url = "http://127.0.0.1:9/send"',
                f'url = "{base}/send"\nauth_env = "LC_TEST_API_KEY"')
            path.write_text(text.replace(
                'result = { status_field = "CodeResult", accepted = ["100"], id_field = "SMSID" }',
                ""), encoding="utf-8")
            lines = ["msisdn,carrier_hint,source_file,source_line"]
            lines += [f"+8491{i:07d},viettel,list.csv,{i + 2}" for i in range(3)]
            (tmp_path / "prepared.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
            proc = await asyncio.create_subprocess_exec(
                CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv",
                "--no-progress", cwd=tmp_path, env=_env(LC_TEST_API_KEY=API_KEY),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
            sent = subprocess.CompletedProcess([], proc.returncode or 0, out.decode(),
                                               err.decode())
        finally:
            await runner.cleanup()
        status = _run(tmp_path, "sms", "status", "campaign.toml",
                      env=_env(LC_TEST_API_KEY=API_KEY))
        return sent, status.stdout + status.stderr

    sent, status = asyncio.run(main())
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
        reasons = {row.reason for row in ledger.rows("t")}
    assert reasons == {"esms: HTTP 400: invalid sender for key <redacted>"}, reasons
    assert API_KEY not in sent.stdout + sent.stderr
    assert "<redacted>" in status and API_KEY not in status


def test_status_scrubs_reasons_a_ledger_stored_before_scrubbing(tmp_path: Path) -> None:
    from langson_comms.sms.ledger import Recipient, Result, SmsState

    path = _campaign(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(
        'url = "http://127.0.0.1:9/send"',
        'url = "http://127.0.0.1:9/send"\nauth_env = "LC_TEST_API_KEY"'), encoding="utf-8")
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
        ledger.enqueue("t", "invite", [Recipient("+84910000001")], promotional=False, now=1.0)
        [row] = ledger.claim("t", "invite", 1.0, 10)
        ledger.record([Result(row.id, SmsState.FAILED, gateway="esms",
                              reason=f"esms: HTTP 400: bad key {API_KEY}")], 2.0)
    env = _env(LC_TEST_API_KEY=API_KEY)
    for args in ((), ("--json",)):
        shown = _run(tmp_path, "sms", "status", "campaign.toml", *args, env=env)
        assert shown.returncode == 0, shown.stderr
        assert "bad key <redacted>" in shown.stdout and API_KEY not in shown.stdout
