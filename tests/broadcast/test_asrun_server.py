"""The confirmation endpoint, against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from langson_comms import FrozenClock, Runtime
from langson_comms.broadcast.asrun import AsRunStore
from langson_comms.broadcast.asrun_server import load_secrets, make_app, new_secrets, start_server
from langson_comms.errors import DataError


def test_right_secret_is_accepted_and_wrong_one_refused(runtime: Runtime, channel: Any, tmp_path: Path) -> None:
    schedule = channel.schedule(runtime.registry)
    ip = [s for s in channel.stations if s.ip_connected]
    station, other = ip[0], ip[1]
    secrets_file = tmp_path / "secrets.csv"
    fresh = new_secrets(channel.stations)
    assert set(fresh) == {s.code for s in ip}
    secrets_file.write_text("station,secret\n" + "".join(f"{k},{v}\n" for k, v in fresh.items()), encoding="utf-8")
    secrets = load_secrets(secrets_file, channel.stations)
    airing = schedule.for_station(station.code)[0]
    body = {"date": str(airing.day), "time": "14:01", "item": airing.item, "confirmed_by": "tự động"}
    clock = FrozenClock("2022-07-01T09:00:00")

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        with AsRunStore(tmp_path / "asrun.sqlite") as store:
            app = make_app(store, channel.checker(schedule), secrets, clock)
            runner, port = await start_server(app, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{port}/v1/stations/{station.code}/confirmations"
            results = []
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    for headers, payload in [
                        ({"Authorization": f"Bearer {secrets[station.code]}"}, body),  # right
                        ({"Authorization": f"Bearer {secrets[other.code]}"}, body),  # another station's
                        ({}, body),  # none
                        ({"Authorization": f"Bearer {secrets[station.code]}"}, body),  # duplicate
                        ({"Authorization": f"Bearer {secrets[station.code]}"}, {**body, "time": "2pm"}),
                        ({"Authorization": f"Bearer {secrets[station.code]}"}, {**body, "date": "2023-01-05"}),
                    ]:
                        response = await client.post(url, json=payload, headers=headers)
                        results.append((response.status_code, response.json()))
                    health = await client.get(f"http://127.0.0.1:{port}/v1/health")
                    results.append((health.status_code, health.json()))
            finally:
                await runner.cleanup()
            return results

    results = asyncio.run(scenario())
    assert [status for status, _ in results] == [201, 401, 401, 409, 400, 400, 200]
    assert results[0][1]["station"] == station.code and results[0][1]["time"] == "14:01"
    assert results[4][1]["field"] == "time" and "not a time of day" in results[4][1]["error"]
    assert results[5][1]["field"] == "date" and "outside the plan" in results[5][1]["error"]
    # refused secrets are not recorded; authenticated bad bodies are, as rejections
    assert results[6][1] == {"ok": True, "confirmations": 1, "rejections": 3}
    with AsRunStore(tmp_path / "asrun.sqlite") as store:
        [kept] = store.confirmations()
    assert (kept.station, kept.via, kept.source) == (station.code, "ip", f"http:{station.code}")


def test_secrets_file_is_checked(channel: Any, tmp_path: Path) -> None:
    wired = next(s for s in channel.stations if not s.ip_connected)
    path = tmp_path / "s.csv"
    path.write_text(f"station,secret\n{wired.code},{'x' * 32}\n", encoding="utf-8")
    with pytest.raises(DataError, match="not IP-connected") as info:
        load_secrets(path, channel.stations)
    assert (info.value.line, info.value.column) == (2, "station")
    ip = next(s for s in channel.stations if s.ip_connected)
    path.write_text(f"station,secret\n{ip.code},short\n", encoding="utf-8")
    with pytest.raises(DataError, match="too short"):
        load_secrets(path, channel.stations)
