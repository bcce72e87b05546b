"""The test kit's gateway contract, against a loopback server answering in Viettel's SOAP."""

from __future__ import annotations

from typing import Any, ClassVar

import langson_comms_viettel
import pytest
from aiohttp import web
from langson_comms_viettel import ViettelGateway
from langson_comms_viettel.soap import build_answer
from viettel_helpers import make_gateway

from langson_comms.sms.gateway import SmsGateway
from langson_comms.testing.gateway_contract import GatewayContract


def _xml(result: str, message: str) -> web.Response:
    return web.Response(body=build_answer(result, message), content_type="text/xml")


class TestViettelGatewayContract(GatewayContract):
    contributed_class = ViettelGateway
    example_config: ClassVar[dict[str, Any]] = {
        "url": "https://api.example.vn/bulkapi", "user": "langson", "cp_code": "LANGSON_CP",
        "password_env": "LANGSON_VIETTEL_TEST_PASSWORD"}
    plugin = langson_comms_viettel

    @pytest.fixture(autouse=True)
    def _password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LANGSON_VIETTEL_TEST_PASSWORD", "s3cret-pass")

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        return make_gateway(base_url + "/bulkapi", timeout=timeout)

    def vendor_answer(self, body: Any) -> Any:
        return _xml("1", "Success")

    def vendor_rejection(self, body: Any) -> Any:
        return _xml("0", "INVALID_MSISDN")

    def vendor_fatal(self, body: Any) -> Any:
        return _xml("0", "AUTHENTICATE_FAIL: user, password or CP code")
