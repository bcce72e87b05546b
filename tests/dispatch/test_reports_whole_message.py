"""A multipart message reported once per message id (eSMS style: no part/parts fields)
is finished by that one report; per-part reports still wait for every part."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web

from langson_comms.messages import Message
from langson_comms.sms.http_gateway import (
    GenericHttpConfig,
    GenericHttpGateway,
    ReportFormat,
    ResultFormat,
)
from langson_comms.sms.ledger import DeliveryReport, Ledger, SmsState
from langson_comms.sms.reports import ReportReceiver

from .conftest import load
from .helpers import run_engine, serve


@pytest.fixture
def ledger(any_ledger: Ledger) -> Ledger:
    """These tests run on both ledger backends (SQLite, PostgreSQL)."""
    return any_ledger


LONG = Message("m", "Cong dan so Xu Lang " * 10, classification="public_notice",
               classified_by="test")
ESMS_REPORTS = ReportFormat(id_field="SMSID", status_field="SendStatus",
                            status_map={"5": "delivered", "4": "failed"})


async def _esms_send(ledger: Ledger) -> None:
    """Send through an eSMS-like API on loopback (its answer says nothing about parts)."""
    n = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal n
        n += 1
        return web.json_response({"CodeResult": "100", "SMSID": f"E{n}"})

    runner, base = await serve(handler)
    gw = GenericHttpGateway("esms", GenericHttpConfig(
        url=f"{base}/send", idempotency_header="",
        result=ResultFormat(status_field="CodeResult", accepted=["100"], id_field="SMSID"),
        reports=ESMS_REPORTS))
    try:
        await run_engine(ledger, {"esms": gw}, message=LONG)
    finally:
        await runner.cleanup()


def test_one_report_per_message_finishes_a_multipart_message(ledger: Ledger) -> None:
    load(ledger, 3)

    async def main() -> list[int]:
        await _esms_send(ledger)
        assert {(r.state, r.segments) for r in ledger.rows("c")} == {(SmsState.ACCEPTED, 2)}
        async with ReportReceiver(ledger, formats={"esms": ESMS_REPORTS}, insecure=True) as rx, \
                httpx.AsyncClient() as client:
            codes = []
            for sms_id, status in (("E1", 5), ("E2", "4"), ("E1", 5)):
                r = await client.post(rx.url_for("esms"),
                                      json={"SMSID": sms_id, "SendStatus": status})
                codes.append(r.json()["new"])
            return codes

    assert asyncio.run(main()) == [1, 1, 0]  # the last one is a replay
    states = [r.state for r in ledger.rows("c")]
    assert states == [SmsState.DELIVERED, SmsState.FAILED, SmsState.ACCEPTED]


def test_per_part_reports_still_wait_for_every_part(ledger: Ledger) -> None:
    load(ledger, 1)
    asyncio.run(_esms_send(ledger))
    # a carrier that numbers parts: part 2 of 2 alone does not finish the message
    assert ledger.record_reports([DeliveryReport("E1", "delivered", 2, 2)], gateway="esms") == 1
    assert next(ledger.rows("c")).state is SmsState.ACCEPTED
    assert ledger.record_reports([DeliveryReport("E1", "delivered", 1, 2)], gateway="esms") == 1
    assert next(ledger.rows("c")).state is SmsState.DELIVERED
