"""The generic HTTP gateway against real loopback servers: contract, wire format, mapping."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiohttp import web

import langson_comms.default_plugins.sms as sms_plugin
from langson_comms.config import ConfigContext
from langson_comms.errors import CampaignFileError, PermanentGatewayError, TransientGatewayError
from langson_comms.sms.gateway import OutgoingSms, SmsGateway, parse_retry_after
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.testing.gateway_contract import (
    GatewayContract,
    generic_answer,
    generic_rejection,
)
from langson_comms.testing.simulator import CarrierSimulator

from .helpers import serve


def _ctx(tmp: Path | None = None) -> ConfigContext:
    return ConfigContext("campaign.toml", tmp or Path("."), "channels.sms.gateways.agg")


#: the vendor's account-level codes (``vendor_fatal``)
FATAL = {"fatal": ["auth_failed"]}


class TestGenericGatewayContract(GatewayContract):
    contributed_class = GenericHttpGateway
    example_config: ClassVar[dict[str, Any]] = {"url": "http://127.0.0.1:8686/sms/send"}
    plugin = sms_plugin

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        return GenericHttpGateway.from_config({"url": base_url + "/sms/send",
                                               "timeout": timeout, "result": FATAL}, _ctx())

    def vendor_answer(self, body: Any) -> Any:
        return generic_answer(body)

    def vendor_rejection(self, body: Any) -> Any:
        return generic_rejection(body)

    def vendor_fatal(self, body: Any) -> Any:
        return {"status": "auth_failed", "error": "wrong api key"}


class TestGenericGatewayBatchContract(TestGenericGatewayContract):
    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        return GenericHttpGateway.from_config(
            {"url": base_url + "/sms/send", "batch_url": base_url + "/sms/batch",
             "max_batch": 50, "timeout": timeout, "result": FATAL}, _ctx())


def _sms(i: int, msisdn: str | None = None) -> OutgoingSms:
    return OutgoingSms(i, msisdn or f"+8491000000{i}", f"Tin nhan {i}", idempotency_key=f"k{i}",
                       sender="LANGSON")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _with(gateway: GenericHttpGateway, coro: Any) -> Any:
    client = gateway.make_client()
    gateway.bind_client(client)
    try:
        return await coro
    finally:
        await client.aclose()


def test_single_and_batch_against_the_simulator(carrier_simulator: Any) -> None:
    sim: CarrierSimulator = carrier_simulator(reject_prefixes=("+8491000000" "3",))
    single = GenericHttpGateway.from_config({"url": sim.url}, _ctx())
    batch = GenericHttpGateway.from_config(
        {"url": sim.url, "batch_url": sim.batch_url, "max_batch": 10}, _ctx())
    one = run(_with(single, single.send([_sms(1)])))
    assert one[0].accepted and one[0].carrier_id == "SIM1"
    many = run(_with(batch, batch.send([_sms(i) for i in range(2, 6)])))
    assert [r.ref for r in many] == [2, 3, 4, 5]
    assert [r.accepted for r in many] == [True, False, True, True]
    assert isinstance(many[1].error, PermanentGatewayError)
    assert "invalid_number" in str(many[1].error)
    accepted = sim.accepted_snapshot()
    assert [a.to for a in accepted] == ["+84910000001", "+84910000002", "+84910000004",
                                        "+84910000005"]
    assert accepted[0].request_id == "k1" and accepted[0].text == "Tin nhan 1"


def test_http_faults_become_library_errors(carrier_simulator: Any) -> None:
    sim = carrier_simulator(rate_msgs=1, rate_burst=1, retry_after=0.7)
    gw = GenericHttpGateway.from_config({"url": sim.url}, _ctx())

    async def two() -> None:
        await gw.send([_sms(1)])
        with pytest.raises(TransientGatewayError) as info:
            await gw.send([_sms(2)])
        assert info.value.status == 429 and info.value.retry_after == 0.7

    run(_with(gw, two()))
    down = carrier_simulator(fail_5xx=1.0)
    gw5 = GenericHttpGateway.from_config({"url": down.url}, _ctx())
    with pytest.raises(TransientGatewayError, match="HTTP 503"):
        run(_with(gw5, gw5.send([_sms(1)])))
    reset = carrier_simulator(reset=1.0)
    gwr = GenericHttpGateway.from_config({"url": reset.url}, _ctx())
    with pytest.raises(TransientGatewayError, match=r"connection|timeout"):
        run(_with(gwr, gwr.send([_sms(1)])))
    assert reset.accepted_snapshot() == []


def test_auth_header_comes_from_the_environment(carrier_simulator: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sim = carrier_simulator(require_auth="Bearer s3cret")
    monkeypatch.setenv("LC_TEST_TOKEN", "Bearer s3cret")
    gw = GenericHttpGateway.from_config({"url": sim.url, "auth_env": "LC_TEST_TOKEN"}, _ctx())
    assert run(_with(gw, gw.send([_sms(1)])))[0].accepted
    monkeypatch.setenv("LC_TEST_TOKEN", "Bearer wrong")
    bad = GenericHttpGateway.from_config({"url": sim.url, "auth_env": "LC_TEST_TOKEN"}, _ctx())
    with pytest.raises(PermanentGatewayError) as info:
        run(_with(bad, bad.send([_sms(2)])))
    assert info.value.status == 401
    monkeypatch.delenv("LC_TEST_TOKEN")
    with pytest.raises(CampaignFileError, match=r"auth_env: .*LC_TEST_TOKEN.* is not set"):
        GenericHttpGateway.from_config({"url": sim.url, "auth_env": "LC_TEST_TOKEN"}, _ctx())


def test_field_mapping_talks_to_an_esms_like_api() -> None:
    """An aggregator with its own names, number format and result codes, by config only."""
    seen: list[dict[str, Any]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body["Phone"].startswith("0900"):
            return web.json_response({"CodeResult": "104", "ErrorMessage": "Brandname sai"})
        if body["Phone"].startswith("0901"):
            return web.json_response({"CodeResult": "99", "ErrorMessage": "He thong ban"})
        return web.json_response({"CodeResult": "100", "SMSID": "E-" + body["RequestId"]})

    async def main() -> list[Any]:
        runner, base = await serve(handler)
        gw = GenericHttpGateway.from_config({
            "url": f"{base}/MainService.svc/json/SendMultipleMessage_V4_post_json/",
            "number_format": "0",
            "idempotency_header": "",
            "extra": {"ApiKey": "K", "SecretKey": "S", "SmsType": "2"},
            "fields": {"to": "Phone", "text": "Content", "sender": "Brandname",
                       "idempotency_key": "RequestId", "ref": "", "unicode": "IsUnicode"},
            "result": {"status_field": "CodeResult", "accepted": ["100"], "transient": ["99"],
                       "id_field": "SMSID", "error_field": "ErrorMessage"},
        }, _ctx())
        try:
            return [await _with(gw, gw.send([_sms(1, n)])) for n in
                    ("+84912345678", "+84900111222", "+84901111222")]
        finally:
            await runner.cleanup()

    ok, rejected, busy = (r[0] for r in asyncio.run(main()))
    assert ok.accepted and ok.carrier_id == "E-k1"
    assert seen[0] == {"ApiKey": "K", "SecretKey": "S", "SmsType": "2", "Phone": "0912345678",
                       "Content": "Tin nhan 1", "Brandname": "LANGSON", "RequestId": "k1",
                       "IsUnicode": False}
    assert isinstance(rejected.error, PermanentGatewayError)
    assert "Brandname sai" in str(rejected.error)
    assert isinstance(busy.error, TransientGatewayError)


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"channels.sms.gateways.agg.url: 'ftp://x'"):
        GenericHttpGateway.from_config({"url": "ftp://x"}, _ctx(tmp_path))
    with pytest.raises(CampaignFileError, match=r"gateways.agg.batch_url: max_batch > 1"):
        GenericHttpGateway.from_config({"url": "http://x", "max_batch": 5}, _ctx(tmp_path))
    with pytest.raises(CampaignFileError, match=r"gateways.agg.rate_msgs"):
        GenericHttpGateway.from_config({"url": "http://x", "rate_msgs": "fast"}, _ctx(tmp_path))
    with pytest.raises(CampaignFileError, match=r"gateways.agg.colour: unknown key"):
        GenericHttpGateway.from_config({"url": "http://x", "colour": 1}, _ctx(tmp_path))


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None


def test_simulator_speaks_json_errors_for_bad_bodies(carrier_simulator: Any) -> None:
    import httpx

    sim = carrier_simulator()
    answer = httpx.post(sim.batch_url, content=b"not json")
    assert answer.status_code == 400
    answer = httpx.post(sim.url, content=json.dumps({"text": "no number"}))
    assert answer.json() == {"status": "rejected", "error": "malformed", "ref": None}
