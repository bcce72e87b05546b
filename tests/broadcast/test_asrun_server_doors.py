"""The as-run endpoint keeps the door shut and never echoes a station secret (issue 13,
items 9 and 10), against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from langson_comms import FrozenClock, Runtime
from langson_comms.broadcast.asrun import AsRunStore
from langson_comms.broadcast.asrun_server import load_secrets, make_app, start_server
from langson_comms.errors import DataError

SECRET = "Zk3-station-secret-0042-abcdef"


def _secrets_file(tmp_path: Path, code: str, secret: str, newline: str = "\r\n") -> Path:
    path = tmp_path / "secrets.csv"
    path.write_bytes(f"station,secret{newline}{code},{secret}{newline}".encode())
    return path


def test_secrets_are_stripped_and_checked_on_read(channel: Any, tmp_path: Path) -> None:
    code = next(s for s in channel.stations if s.ip_connected).code
    assert load_secrets(_secrets_file(tmp_path, code, SECRET + " \r"), channel.stations) == {
        code: SECRET}
    for bad in (f"{SECRET[:8]} {SECRET[8:]}", f"{SECRET}\x07x", f"{SECRET}é"):
        with pytest.raises(DataError) as info:
            load_secrets(_secrets_file(tmp_path, code, bad), channel.stations)
        assert (info.value.line, info.value.column) == (2, "secret")
        assert SECRET[8:] not in str(info.value)


def _serve(runtime: Runtime, channel: Any, tmp_path: Path,
           scenario: Any) -> Any:
    schedule = channel.schedule(runtime.registry)
    code = next(s for s in channel.stations if s.ip_connected).code
    secrets = load_secrets(_secrets_file(tmp_path, code, SECRET), channel.stations)

    async def main() -> Any:
        with AsRunStore(tmp_path / "asrun.sqlite") as store:
            app = make_app(store, channel.checker(schedule), secrets,
                           FrozenClock("2022-07-01T09:00:00"))
            runner, port = await start_server(app, "127.0.0.1", 0)
            try:
                return await scenario(port, code, schedule)
            finally:
                await runner.cleanup()

    return asyncio.run(main())


def test_a_header_with_a_stray_cr_is_400_without_the_secret(
        runtime: Runtime, channel: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(port: int, code: str, schedule: Any) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST /v1/stations/{code}/confirmations HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {SECRET}\r\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(65536), 30)
        writer.close()
        return raw

    with caplog.at_level(logging.DEBUG):
        raw = _serve(runtime, channel, tmp_path, scenario)
    assert b" 400 " in raw.split(b"\r\n")[0], raw
    assert SECRET.encode() not in raw
    assert SECRET not in caplog.text


def test_malformed_bodies_are_400_and_error_bodies_hide_secrets(
        runtime: Runtime, channel: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(port: int, code: str, schedule: Any) -> list[httpx.Response]:
        airing = schedule.for_station(code)[0]
        good = {"date": str(airing.day), "time": "14:01", "item": airing.item}
        url = f"http://127.0.0.1:{port}/v1/stations/{code}/confirmations"
        auth = {"Authorization": f"Bearer {SECRET}", "content-type": "application/json"}
        async with httpx.AsyncClient(timeout=10) as client:
            return [await client.post(url, content=body, headers=auth) for body in (
                b"[" * 8000 + b"]" * 8000,                       # deep nesting
                b'{"date": "2022-07-01\xff"}',                     # not UTF-8
                httpx.Request("POST", url, json={**good, "note": {"a": [1]}}).read(),
                httpx.Request("POST", url, json={**good, "item": SECRET}).read(),
                httpx.Request("POST", url, json={**good, SECRET: "x"}).read(),
                httpx.Request("POST", url, json={**good, "note": "x" * 20_000}).read(),
            )]

    with caplog.at_level(logging.DEBUG):
        answers = _serve(runtime, channel, tmp_path, scenario)
    assert [a.status_code for a in answers] == [400] * 5 + [413], [a.text for a in answers]
    assert "nested too deep" in answers[0].json()["error"]
    assert "not UTF-8" in answers[1].json()["error"]
    assert answers[2].json()["field"] == "note"
    assert all(SECRET not in a.text for a in answers), [a.text for a in answers]
    assert SECRET not in caplog.text and "Traceback" not in caplog.text
    with AsRunStore(tmp_path / "asrun.sqlite") as store:
        stored = " ".join(r.format() + str(r.value) for r in store.rejections())
    assert SECRET not in stored
