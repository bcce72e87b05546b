"""The test kit's gateway contract, against a loopback server answering VNPT's RPLY."""

from __future__ import annotations

from typing import Any, ClassVar

import langson_comms_vnpt
import pytest
from langson_comms_vnpt import VnptGateway
from langson_comms_vnpt.envelope import reply
from vnpt_helpers import make_gateway

from langson_comms.sms.gateway import SmsGateway
from langson_comms.testing.gateway_contract import GatewayContract


class TestVnptGatewayContract(GatewayContract):
    contributed_class = VnptGateway
    example_config: ClassVar[dict[str, Any]] = {
        "url": "https://api.example.vn/smsbn/api", "api_user": "langson_api", "agent_id": "244",
        "contract_id": "13681", "template_id": "T-FREE-1", "username": "langson",
        "api_pass_env": "LANGSON_VNPT_TEST_PASS"}
    plugin = langson_comms_vnpt

    @pytest.fixture(autouse=True)
    def _api_pass(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LANGSON_VNPT_TEST_PASS", "vnpt-s3cret-pass")

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        return make_gateway(base_url + "/smsbn/api", timeout=timeout)

    def vendor_answer(self, body: Any) -> Any:
        assert body["RQST"]["name"] == "send_sms_list"
        return reply("0", "success")

    def vendor_rejection(self, body: Any) -> Any:
        return reply("5", "invalid MOBILELIST")

    def vendor_fatal(self, body: Any) -> Any:
        return reply("1", "authentication failed")
