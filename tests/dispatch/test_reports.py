"""Delivery reports end to end: callbacks, polling, multipart, malformed bodies."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from langson_comms.messages import Message
from langson_comms.sms.encoding import analyse
from langson_comms.sms.ledger import Ledger, SmsState
from langson_comms.sms.reports import ReportPoller, ReportReceiver

from .conftest import load
from .helpers import gateway, run_engine, wait_for_reports


@pytest.fixture
def ledger(any_ledger: Ledger) -> Ledger:
    """These tests run on both ledger backends (SQLite, PostgreSQL)."""
    return any_ledger


LONG = Message("m", "Cong dan so Xu Lang " * 20, classification="public_notice",
               classified_by="test")


def test_multipart_callbacks_deliver_and_failed_parts_fail(ledger: Ledger,
                                                           carrier_simulator: Any) -> None:
    assert analyse(LONG.text).segments == 3
    load(ledger, 40)

    async def main() -> dict[str, int]:
        async with ReportReceiver(ledger, insecure=True) as receiver:
            sim = carrier_simulator(dlr_url=receiver.url, dlr_failed=0.25, seed=3)
            summary = await run_engine(ledger, {"sim": gateway(sim)}, message=LONG)
            assert summary.counts["accepted"] + summary.counts["delivered"] \
                + summary.counts["failed"] == 40
            counts = await wait_for_reports(ledger)
            # a failed part fails its row before the other parts' reports came: wait for them
            deadline = time.monotonic() + 30
            while receiver.counters["received"] < 120 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert receiver.counters["received"] == 120  # one report per part
            return counts

    counts = asyncio.run(main())
    assert counts["accepted"] == 0
    assert 0 < counts["failed"] < 40 and counts["delivered"] == 40 - counts["failed"]
    failed = [r for r in ledger.rows("c") if r.state is SmsState.FAILED]
    assert {r.reason for r in failed} == {"carrier report: failed (UNDELIV)"}
    assert all(r.segments == 3 for r in ledger.rows("c"))


def test_polling_gateway_reports(ledger: Ledger, carrier_simulator: Any) -> None:
    load(ledger, 30)
    sim = carrier_simulator(dlr_polling=True)
    gw = gateway(sim, poll_url=sim.poll_url)
    assert gw.capabilities.supports_polling

    async def main() -> int:
        summary = await run_engine(ledger, {"sim": gw})
        assert summary.counts["accepted"] == 30
        client = gw.make_client()
        gw.bind_client(client)
        try:
            poller = ReportPoller(ledger, [gw])
            new = await poller.poll_once()
            assert await poller.poll_once() == 0  # the queue is drained
            return new
        finally:
            await client.aclose()

    assert asyncio.run(main()) == 30
    assert ledger.counts("c")["delivered"] == 30


def test_receiver_rejects_malformed_bodies_and_wrong_tokens(ledger: Ledger) -> None:
    async def main() -> list[tuple[int, Any]]:
        async with ReportReceiver(ledger, token="Bearer t") as receiver:
            async with httpx.AsyncClient() as client:
                answers = []
                for body, headers in (
                    ({"message_id": "A1", "status": "delivered"}, {}),
                    ({"message_id": "A1", "status": "delivered"}, {"Authorization": "Bearer t"}),
                    ({"reports": [{"status": "delivered"}]}, {"Authorization": "Bearer t"}),
                    ([{"message_id": "A1", "status": "weird"}], {"Authorization": "Bearer t"}),
                ):
                    r = await client.post(receiver.url, json=body, headers=headers)
                    answers.append((r.status_code, r.json()))
                return answers

    answers = asyncio.run(main())
    assert answers[0][0] == 401
    assert answers[1] == (200, {"received": 1, "new": 1})
    assert answers[2][0] == 400
    assert answers[2][1]["error"] == "body[0]: field 'message_id' is missing"
    assert answers[3][0] == 400 and "status 'weird' is not one of" in answers[3][1]["error"]


def test_get_and_form_callbacks_and_ignored_statuses(ledger: Ledger,
                                                     carrier_simulator: Any) -> None:
    """eSMS-style: the callback URL is called with GET and query parameters, one report
    per message id, and also for statuses that are not final (answered 200, not stored)."""
    from langson_comms.sms.http_gateway import ReportFormat

    fmt = ReportFormat(id_field="SMSID", status_field="SendStatus",
                       status_map={"5": "delivered", "4": "failed"}, ignore=["1", "2", "7"])
    load(ledger, 3)

    async def main() -> list[int]:
        sim = carrier_simulator()
        await run_engine(ledger, {"sim": gateway(sim)})
        ids = [r.carrier_id for r in ledger.rows("c")]
        async with ReportReceiver(ledger, formats={"sim": fmt}, gateway="sim",
                                  insecure=True) as receiver:
            async with httpx.AsyncClient() as client:
                codes = [
                    (await client.get(receiver.url, params={"SMSID": ids[0], "SendStatus": "7"})
                     ).status_code,
                    (await client.get(receiver.url_for("sim"),
                                      params={"SMSID": ids[0], "SendStatus": "5"})).status_code,
                    (await client.post(receiver.url, data={"SMSID": ids[1], "SendStatus": "4"})
                     ).status_code,
                ]
                bad = await client.get(receiver.url, params={"SMSID": ids[2], "SendStatus": "9"})
                codes.append(bad.status_code)
                # where (the query's first report) and what (the status, the known ones)
                assert bad.json()["error"] == "query[0]: status '9' is not one of ['4', '5']"
            assert receiver.counters["ignored"] == 1 and receiver.counters["new"] == 2
            return codes

    assert asyncio.run(main()) == [200, 200, 200, 400]
    states = {r.carrier_id: r.state for r in ledger.rows("c")}
    assert sorted(states.values()) == [SmsState.ACCEPTED, SmsState.DELIVERED, SmsState.FAILED]


def test_the_documented_reports_table_reads_a_vendors_callbacks() -> None:
    """The ``[channels.sms.gateways.aggregator.reports]`` example of docs/sms-dispatch.md."""
    import re
    import tomllib
    from collections import Counter
    from pathlib import Path

    from langson_comms.config import ConfigContext
    from langson_comms.sms.http_gateway import ReportFormat, parse_reports

    doc = (Path(__file__).parents[2] / "docs" / "sms-dispatch.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[channels\.sms\.gateways\.aggregator\.reports\]\n.*?)```",
                      doc, re.S)
    assert block, "docs/sms-dispatch.md lost its reports example"
    table = tomllib.loads(block.group(1))["channels"]["sms"]["gateways"]["aggregator"]["reports"]
    fmt = ConfigContext("campaign.toml", Path("."), "reports").structure(table, ReportFormat)
    ignored: Counter[str] = Counter()
    reports = parse_reports([{"SMSID": "A", "SendStatus": "2"}, {"SMSID": "A", "SendStatus": "5"}],
                            fmt, ignored=ignored)
    assert [(r.carrier_id, r.status) for r in reports] == [("A", "delivered")]
    assert ignored == Counter({"2": 1})
