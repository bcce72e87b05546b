"""The gateway contract of the test kit catches the gateways it is meant to catch.

Each case runs one contract test of ``GatewayContract`` (against its real loopback
server) on a deliberately wrong gateway and expects it to fail; the right gateway passes
the whole contract in test_gateway.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from langson_comms.config import ConfigContext
from langson_comms.errors import PermanentGatewayError
from langson_comms.sms.gateway import OutgoingSms, SubmitResult
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.testing.gateway_contract import (
    GatewayContract,
    generic_answer,
    generic_rejection,
)


class OwnClientGateway(GenericHttpGateway):
    """Ignores ``bind_client``: a client of its own for every request."""

    name = "own_client"

    def bind_client(self, client: httpx.AsyncClient) -> None:
        pass

    @property
    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.config.timeout)


class BadRequestIsTransientGateway(GenericHttpGateway):
    """Retries a 400: the row would be sent again and again."""

    name = "bad_request_transient"

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        try:
            return await super().send(batch)
        except PermanentGatewayError as exc:
            raise self.transient(str(exc), status=exc.status) from exc


class RejectionStopsTheRunGateway(GenericHttpGateway):
    """Raises an account-level (403) error for one refused number: stops every send."""

    name = "rejection_fatal"

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        results = await super().send(batch)
        if any(r.error for r in results):
            raise self.permanent("refused", status=403)
        return results


class MissingIsAcceptedGateway(GenericHttpGateway):
    """Takes a message the batch answer left out for accepted: it is never sent, yet
    the ledger says it was."""

    name = "missing_accepted"

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        results = await super().send(batch)
        return [r if r.accepted else SubmitResult(r.ref, f"assumed-{r.ref}") for r in results]


class Contract(GatewayContract):
    """Not collected (no ``Test`` prefix): each test below calls one of its tests."""

    contributed_class: ClassVar[type[Any]] = GenericHttpGateway
    example_config: ClassVar[dict[str, Any]] = {"url": "http://127.0.0.1:8686/s"}
    config: ClassVar[dict[str, Any]] = {}

    def make_gateway(self, base_url: str, timeout: float) -> GenericHttpGateway:
        cls: type[GenericHttpGateway] = self.contributed_class
        config = {"url": base_url + "/s", "timeout": timeout, "result": {"fatal": ["auth"]},
                  **self.config}
        if config.get("max_batch", 1) > 1:
            config["batch_url"] = base_url + "/b"
        return cls.from_config(config, ConfigContext("campaign.toml", Path("."), "g"))

    def vendor_answer(self, body: Any) -> Any:
        return generic_answer(body)

    def vendor_rejection(self, body: Any) -> Any:
        return generic_rejection(body)

    def vendor_fatal(self, body: Any) -> Any:
        return {"status": "auth", "error": "wrong api key"}


def _contract(cls: type[GenericHttpGateway], **config: Any) -> Contract:
    return type("Case", (Contract,), {"contributed_class": cls, "config": config})()


@pytest.mark.parametrize("test", ["test_uses_the_injected_client",
                                  "test_accepts_a_batch_with_one_result_per_message",
                                  "test_5xx_is_transient", "test_bad_credentials_are_permanent"])
def test_a_gateway_with_its_own_client_fails(test: str) -> None:
    with pytest.raises(AssertionError, match="bind_client"):
        getattr(_contract(OwnClientGateway), test)()


def test_a_gateway_retrying_refused_messages_fails() -> None:
    # configuration alone makes the vendor's "rejected" worth a retry
    case = _contract(GenericHttpGateway, result={"transient": ["rejected"]})
    with pytest.raises(AssertionError, match="must fail for good"):
        case.test_a_rejected_message_is_permanent_for_that_message()


def test_a_gateway_stopping_the_run_for_a_refused_message_fails() -> None:
    with pytest.raises(AssertionError, match="must not stop the run"):
        _contract(RejectionStopsTheRunGateway).test_a_rejected_message_is_permanent_for_that_message()


def test_a_gateway_retrying_a_bad_request_fails() -> None:
    with pytest.raises(AssertionError, match="a 400 answer is permanent"):
        _contract(BadRequestIsTransientGateway).test_bad_request_is_permanent()


def test_a_contract_without_vendor_rejection_says_what_to_implement() -> None:
    class NoRejection(Contract):
        vendor_rejection = GatewayContract.vendor_rejection

    with pytest.raises(AssertionError, match="implement vendor_rejection"):
        NoRejection().test_a_rejected_message_is_permanent_for_that_message()


def test_a_vendor_without_refusals_skips_that_check() -> None:
    class NoRefusals(Contract):
        def vendor_rejection(self, body: Any) -> Any:
            return None

    with pytest.raises(pytest.skip.Exception, match="no per-message refusal"):
        NoRefusals().test_a_rejected_message_is_permanent_for_that_message()


def test_the_generic_gateway_passes_the_new_checks() -> None:
    case = _contract(GenericHttpGateway)
    case.test_uses_the_injected_client()
    case.test_a_rejected_message_is_permanent_for_that_message()
    case.test_bad_request_is_permanent()


def test_a_gateway_taking_missing_answers_for_accepted_fails() -> None:
    case = _contract(MissingIsAcceptedGateway, max_batch=5)
    with pytest.raises(AssertionError, match="left out of the answer"):
        case.test_a_message_missing_from_the_answer_is_not_accepted()


def test_a_gateway_retrying_a_fatal_code_inside_a_200_fails() -> None:
    # the vendor's "bad credentials" code, configured as worth a retry
    case = _contract(GenericHttpGateway, result={"transient": ["auth"]})
    with pytest.raises(AssertionError, match="must stop the run"):
        case.test_a_fatal_code_inside_a_200_stops_the_run()


def test_a_gateway_failing_rows_one_by_one_on_a_fatal_code_fails() -> None:
    # no `fatal` codes configured: every row would fail "rejected: wrong api key"
    case = _contract(GenericHttpGateway, result={})
    with pytest.raises(AssertionError, match="must stop the run"):
        case.test_a_fatal_code_inside_a_200_stops_the_run()


def test_a_contract_without_vendor_fatal_says_what_to_implement() -> None:
    class NoFatal(Contract):
        vendor_fatal = GatewayContract.vendor_fatal

    with pytest.raises(AssertionError, match="implement vendor_fatal"):
        NoFatal().test_a_fatal_code_inside_a_200_stops_the_run()


def test_the_generic_gateway_passes_the_fault_checks() -> None:
    _contract(GenericHttpGateway).test_a_fatal_code_inside_a_200_stops_the_run()
    _contract(GenericHttpGateway, max_batch=5
              ).test_a_message_missing_from_the_answer_is_not_accepted()
    with pytest.raises(pytest.skip.Exception, match="max_batch"):
        _contract(GenericHttpGateway).test_a_message_missing_from_the_answer_is_not_accepted()


def test_a_vendor_without_a_fatal_answer_skips_that_check() -> None:
    class NoFatal(Contract):
        def vendor_fatal(self, body: Any) -> Any:
            return None

    with pytest.raises(pytest.skip.Exception, match="no such answer"):
        NoFatal().test_a_fatal_code_inside_a_200_stops_the_run()


def test_the_canned_server_sends_a_vendor_response_as_it_is() -> None:
    """A vendor that answers XML returns an ``aiohttp.web.Response`` from ``vendor_answer``;
    a request body that is not JSON reaches it as text; a plain value is still JSON."""
    import asyncio

    from aiohttp import web

    from langson_comms.testing.gateway_contract import CannedServer

    def answer(body: Any) -> Any:
        if isinstance(body, str):
            return web.Response(text=body.replace("ask", "answer"), content_type="text/xml")
        return {"echo": body}

    async def main() -> tuple[httpx.Response, httpx.Response]:
        server = CannedServer(answer)
        base = await server.start()
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                xml = await client.post(base + "/soap", content=b"<ask/>")
                json_ = await client.post(base + "/json", json={"a": 1})
        finally:
            await server.stop()
        return xml, json_

    xml, json_ = asyncio.run(main())
    assert (xml.text, xml.headers["content-type"].split(";")[0]) == ("<answer/>", "text/xml")
    assert json_.json() == {"echo": {"a": 1}}
