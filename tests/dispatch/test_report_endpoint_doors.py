"""No open door on the delivery-report endpoint (issue 13, item 9), against a real
aiohttp server on 127.0.0.1: no token means no serving (unless ``insecure`` on
loopback), constant-time comparison, part/parts ranges, malformed values and deep JSON
answered 400 (never a 500 traceback), capped requests recorded in chunks."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from langson_comms.errors import ConfigError
from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger
from langson_comms.sms.reports import ReportReceiver

TOKEN = "Bearer dlr-0123456789abcdef"
AUTH = {"Authorization": TOKEN}


def _accepted(ledger: SqliteLedger, n: int) -> list[str]:
    """``n`` rows accepted by gateway ``sim`` with carrier ids C0..C<n-1>."""
    ledger.enqueue("c", "m", [Recipient(f"+8491{i:07d}") for i in range(n)],
                   promotional=False, now=1.0)
    claimed = ledger.claim("c", "m", 1.0, n)
    ledger.record([Result(q.id, SmsState.ACCEPTED, gateway="sim", carrier_id=f"C{i}")
                   for i, q in enumerate(claimed)], 2.0)
    return [f"C{i}" for i in range(n)]


def test_no_token_no_serving_unless_insecure_on_loopback(ledger: SqliteLedger) -> None:
    for options in ({}, {"token": ""}, {"token": "   "},
                    {"insecure": True, "host": "0.0.0.0"},
                    {"insecure": True, "host": "192.0.2.1"}):
        with pytest.raises(ConfigError, match="token"):
            ReportReceiver(ledger, **options)
    for host in ("127.0.0.1", "localhost", "::1", "127.3.4.5"):
        assert ReportReceiver(ledger, insecure=True, host=host).token is None
    # a token with surrounding whitespace (a file's line end) is stripped on read
    assert ReportReceiver(ledger, token=TOKEN + "\r\n").token == TOKEN
    with pytest.raises(ConfigError, match="control character"):
        ReportReceiver(ledger, token="Bearer a\x00b")


def test_tokens_compared_in_constant_time(ledger: SqliteLedger,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    from langson_comms.sms import reports

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(reports.hmac, "compare_digest", spy)
    _accepted(ledger, 1)

    async def main() -> list[int]:
        async with ReportReceiver(ledger, token=TOKEN) as rx, httpx.AsyncClient() as client:
            body = {"message_id": "C0", "status": "delivered"}
            return [(await client.post(rx.url, json=body,
                                       headers=h)).status_code
                    for h in ({}, {"Authorization": ""}, {"Authorization": TOKEN + "x"},
                              {"Authorization": TOKEN[:-1]}, AUTH)]

    assert asyncio.run(main()) == [401, 401, 401, 401, 200]
    assert len(calls) == 5


@pytest.mark.parametrize(("fields", "what"), [
    ({"part": -1, "parts": 0}, "part"),
    ({"part": 0}, "part"),
    ({"part": 3, "parts": 2}, "part"),
    ({"part": 1, "parts": 0}, "parts"),
    ({"part": 1, "parts": 1000}, "parts"),
    ({"part": "x"}, "part"),
    ({"part": True}, "part"),
    ({"part": [1]}, "part"),
    ({"parts": {"a": 1}}, "parts"),
    ({"message_id": {"x": [1, 2]}}, "message_id"),
    ({"message_id": True}, "message_id"),
    ({"status": ["delivered"]}, "status"),
    ({"error": {"code": 1}}, "error"),
])
def test_part_ranges_and_malformed_values_are_400(ledger: SqliteLedger, fields: dict[str, Any],
                                                  what: str) -> None:
    _accepted(ledger, 1)
    body = {"message_id": "C0", "status": "delivered", **fields}

    async def main() -> httpx.Response:
        async with ReportReceiver(ledger, token=TOKEN) as rx, httpx.AsyncClient() as client:
            return await client.post(rx.url, json={"reports": [body]}, headers=AUTH)

    answer = asyncio.run(main())
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith("body[0]: ") and what in answer.json()["error"]
    assert [r.state for r in ledger.rows("c")] == [SmsState.ACCEPTED]


def test_bad_json_bad_bytes_and_deep_nesting_are_400(ledger: SqliteLedger,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    _accepted(ledger, 1)
    json_type = {**AUTH, "content-type": "application/json"}
    bodies = [
        b"{not json",
        b'{"reports": [{"message_id": "C0", "status": "delivered\xff\xfe"}]}',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"reports": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_001,
        b'"just a string"',
        b"17",
    ]

    async def main() -> list[httpx.Response]:
        async with ReportReceiver(ledger, token=TOKEN) as rx, httpx.AsyncClient() as client:
            out = [await client.post(rx.url, content=b, headers=json_type) for b in bodies]
            out.append(await client.post(rx.url, content=b"SMSID=\xff&x=1", headers={
                **AUTH, "content-type": "application/x-www-form-urlencoded"}))
            return out

    with caplog.at_level(logging.ERROR):
        answers = asyncio.run(main())
    assert [a.status_code for a in answers] == [400] * len(answers), [a.text for a in answers]
    assert all("error" in a.json() for a in answers)
    assert "Traceback" not in caplog.text and "Error handling request" not in caplog.text
    assert [r.state for r in ledger.rows("c")] == [SmsState.ACCEPTED]


def test_reports_per_request_and_body_size_are_capped(ledger: SqliteLedger) -> None:
    ids = _accepted(ledger, 30)

    async def main() -> list[httpx.Response]:
        async with ReportReceiver(ledger, token=TOKEN, max_reports=20,
                                  max_body_bytes=4096) as rx, httpx.AsyncClient() as client:
            many = {"reports": [{"message_id": i, "status": "delivered"} for i in ids[:21]]}
            big = {"reports": [{"message_id": "C0", "status": "delivered",
                                "error": "x" * 5000}]}
            return [await client.post(rx.url, json=many, headers=AUTH),
                    await client.post(rx.url, json=big, headers=AUTH)]

    many, big = asyncio.run(main())
    assert many.status_code == 413 and "20 reports" in many.json()["error"], many.text
    assert "max_reports" in many.json()["error"]
    assert big.status_code == 413, big.text
    assert ledger.counts("c")["accepted"] == 30


def test_a_large_batch_is_recorded_in_chunks_and_others_are_answered(
        ledger: SqliteLedger) -> None:
    ids = _accepted(ledger, 3000)
    calls: list[int] = []
    record = ledger.record_reports

    def counting(reports: Any, now: float, **kw: Any) -> int:
        calls.append(len(reports))
        return record(reports, now, **kw)

    ledger.record_reports = counting  # type: ignore[method-assign]

    async def main() -> tuple[httpx.Response, list[int]]:
        async with ReportReceiver(ledger, token=TOKEN, chunk_size=500,
                                  max_reports=5000) as rx, \
                httpx.AsyncClient(timeout=30) as client:
            batch = {"reports": [{"message_id": i, "status": "delivered"} for i in ids]}
            big = asyncio.create_task(client.post(rx.url, json=batch, headers=AUTH))
            small = [await client.post(rx.url, json={"message_id": "nope", "status": "failed"},
                                       headers=AUTH) for _ in range(3)]
            return await big, [s.status_code for s in small]

    big, small = asyncio.run(main())
    assert big.status_code == 200 and big.json() == {"received": 3000, "new": 3000}
    assert small == [200, 200, 200]
    assert max(calls) <= 500 and sum(calls) >= 3000
    assert ledger.counts("c")["delivered"] == 3000


def test_error_bodies_and_malformed_requests_never_echo_the_token(
        ledger: SqliteLedger, caplog: pytest.LogCaptureFixture) -> None:
    secret = TOKEN.split()[1]

    async def main() -> tuple[httpx.Response, bytes]:
        async with ReportReceiver(ledger, token=TOKEN) as rx:
            async with httpx.AsyncClient() as client:
                echoed = await client.post(rx.url, json={"message_id": "C0", "status": secret},
                                           headers=AUTH)
            # a header line ending in a lone CR (a token read from a CRLF file)
            reader, writer = await asyncio.open_connection("127.0.0.1", rx.port)
            writer.write(b"POST /dlr HTTP/1.1\r\nHost: x\r\nAuthorization: " + TOKEN.encode()
                         + b"\r\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(65536), 30)
            writer.close()
            return echoed, raw

    with caplog.at_level(logging.DEBUG):
        echoed, raw = asyncio.run(main())
    assert echoed.status_code == 400 and secret not in echoed.text
    assert raw.startswith(b"HTTP/1.") and b" 400 " in raw.split(b"\r\n")[0]
    assert secret.encode() not in raw
    assert secret not in caplog.text


def test_multipart_form_reports_are_read_and_file_uploads_refused(ledger: SqliteLedger) -> None:
    _accepted(ledger, 1)

    async def main() -> list[httpx.Response]:
        async with ReportReceiver(ledger, token=TOKEN) as rx, httpx.AsyncClient() as client:
            return [
                await client.post(rx.url, headers=AUTH, files={"x": ("a.txt", b"123")},
                                  data={"message_id": "C0", "status": "delivered"}),
                await client.post(rx.url, headers=AUTH, files={"message_id": (None, "C0"),
                                                               "status": (None, "delivered")}),
            ]

    upload, form = asyncio.run(main())
    assert upload.status_code == 400 and "not files" in upload.json()["error"], upload.text
    assert form.status_code == 200 and form.json()["new"] == 1, form.text


def test_gateway_credentials_from_the_environment_are_stripped_and_checked() -> None:
    from langson_comms.sms.http_gateway import (
        GenericHttpConfig,
        GenericHttpGateway,
        MissingSecretError,
    )

    config = GenericHttpConfig(url="http://127.0.0.1:9/send", auth_env="LC_KEY",
                               extra_env={"ApiKey": "LC_API"})
    gw = GenericHttpGateway("g", config, env={"LC_KEY": "Bearer k3y-123456\r\n",
                                               "LC_API": " api-key-9 \n"})
    assert gw._headers["Authorization"] == "Bearer k3y-123456"
    assert gw._extra["ApiKey"] == "api-key-9"
    for bad in ("", "\r\n", "key\x00x"):
        with pytest.raises(MissingSecretError, match="LC_KEY") as info:
            GenericHttpGateway("g", config, env={"LC_KEY": bad, "LC_API": "ok-value"})
        assert info.value.key == "auth_env" and "key\x00x" not in str(info.value)
