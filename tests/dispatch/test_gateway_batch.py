"""Batch answers of the generic HTTP gateway that do not cover every message.

A vendor that answers for only some refs must not make the whole batch transient: the
engine would resend the accepted messages, and a gateway that does not de-duplicate
would deliver them twice.  Real aiohttp servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from langson_comms.config import ConfigContext
from langson_comms.errors import PermanentGatewayError, TransientGatewayError
from langson_comms.sms.engine import RetryPolicy
from langson_comms.sms.gateway import OutgoingSms, SubmitResult
from langson_comms.sms.http_gateway import GenericHttpConfig, GenericHttpGateway
from langson_comms.sms.ledger import SmsState, SqliteLedger

from .conftest import load
from .helpers import run_engine, serve

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _batch_gateway(base: str) -> GenericHttpGateway:
    return GenericHttpGateway.from_config(
        {"url": base + "/s", "batch_url": base + "/b", "max_batch": 10, "timeout": 2},
        ConfigContext("campaign.toml", Path("."), "channels.sms.gateways.agg"))


def _sms(refs: range | list[int]) -> list[OutgoingSms]:
    return [OutgoingSms(i, f"+849123456{i:02d}", f"tin {i}") for i in refs]


def _send(handler: Handler, batch: list[OutgoingSms],
          make: Callable[[str], GenericHttpGateway] = _batch_gateway) -> list[SubmitResult]:
    async def main() -> list[SubmitResult]:
        runner, base = await serve(handler)
        gateway = make(base)
        client = gateway.make_client()
        gateway.bind_client(client)
        try:
            return await gateway.send(batch)
        finally:
            await client.aclose()
            await runner.cleanup()

    return asyncio.run(main())


def test_a_partial_answer_keeps_the_answered_and_retries_only_the_missing() -> None:
    async def handler(request: web.Request) -> web.Response:
        messages = (await request.json())["messages"]
        # answers for the 1st and 3rd only, in reverse order
        return web.json_response({"results": [
            {"status": "accepted", "message_id": f"C{m['ref']}", "ref": m["ref"]}
            for m in reversed(messages[::2])]})

    results = _send(handler, _sms(range(1, 5)))
    assert [r.ref for r in results] == [1, 2, 3, 4]
    assert [r.carrier_id for r in results] == ["C1", None, "C3", None]
    assert [type(r.error) for r in results] == [type(None), TransientGatewayError,
                                                 type(None), TransientGatewayError]
    assert "ref 2" in str(results[1].error)


def test_a_partial_answer_with_rejections_judges_each_message_by_its_ref() -> None:
    async def handler(request: web.Request) -> web.Response:
        messages = (await request.json())["messages"]
        return web.json_response({"results": [
            {"status": "rejected", "error": "invalid_number", "ref": messages[1]["ref"]},
            {"status": "accepted", "message_id": "C1", "ref": messages[0]["ref"]}]})

    first, second, third = _send(handler, _sms([1, 2, 3]))
    assert first.accepted and first.carrier_id == "C1"
    assert isinstance(second.error, PermanentGatewayError)
    assert isinstance(third.error, TransientGatewayError)


def test_a_short_answer_without_refs_is_transient_for_the_whole_batch() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"results": [{"status": "accepted", "message_id": "C"}]})

    with pytest.raises(TransientGatewayError, match="batch of 3 answered with 1 results"):
        _send(handler, _sms([1, 2, 3]))


def test_an_answer_without_refs_in_full_is_matched_by_order() -> None:
    async def handler(request: web.Request) -> web.Response:
        messages = (await request.json())["messages"]
        return web.json_response({"results": [
            {"status": "accepted", "message_id": "X" + m["to"][-2:]} for m in messages]})

    assert [r.carrier_id for r in _send(handler, _sms([1, 2]))] == ["X01", "X02"]


def test_one_request_per_message_keeps_what_was_answered_before_a_failure() -> None:
    """Several messages without a batch URL: a 400 fails that message only; after a 503
    the rest are transient and unsent; the accepted one is never lost to a raise."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body["ref"])
        if body["ref"] == "2":
            return web.json_response({"error": "bad text"}, status=400)
        if body["ref"] == "3":
            return web.json_response({"error": "down"}, status=503)
        return web.json_response({"status": "accepted", "message_id": "C" + body["ref"]})

    def make(base: str) -> GenericHttpGateway:
        return GenericHttpGateway("agg", GenericHttpConfig(url=base + "/s", max_batch=4))

    results = _send(handler, _sms([1, 2, 3, 4]), make)
    assert seen == ["1", "2", "3"]
    assert results[0].carrier_id == "C1"
    assert isinstance(results[1].error, PermanentGatewayError) and results[1].error.status == 400
    assert isinstance(results[2].error, TransientGatewayError)
    assert isinstance(results[3].error, TransientGatewayError)


def test_engine_does_not_resend_accepted_messages_of_a_partial_answer(tmp_path: Path) -> None:
    """End to end with a vendor that does not de-duplicate: it leaves the last message of
    every batch out of its answer (and does not send it).  Every row ends accepted and the
    vendor accepted each number exactly once."""
    accepted: Counter[str] = Counter()

    async def handler(request: web.Request) -> web.Response:
        body = await request.json()
        if "messages" not in body:  # a batch of one goes to the single-message URL
            accepted[body["to"]] += 1
            return web.json_response({"status": "accepted", "message_id": f"C{body['ref']}"})
        messages = body["messages"]
        answered = messages[:-1] if len(messages) > 1 else messages
        for m in answered:
            accepted[m["to"]] += 1
        return web.json_response({"results": [
            {"status": "accepted", "message_id": f"C{m['ref']}", "ref": m["ref"]}
            for m in answered]})

    with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
        load(ledger, 23)

        async def main() -> None:
            runner, base = await serve(handler)
            try:
                await run_engine(ledger, {"agg": _batch_gateway(base)},
                                 retry=RetryPolicy(max_attempts=12, base_delay=0.01,
                                                   max_delay=0.05))
            finally:
                await runner.cleanup()

        asyncio.run(main())
        states = Counter(row.state for row in ledger.rows("c"))
    assert states == {SmsState.ACCEPTED: 23}, states
    assert len(accepted) == 23 and set(accepted.values()) == {1}, accepted.most_common(3)
