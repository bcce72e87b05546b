"""The test kit's gateway contract, played by the canned server in MobiFone's format."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs

import langson_comms_mobifone
import pytest
from langson_comms_mobifone import MobifoneGateway
from mobifone_helpers import ENV, context, table

from langson_comms.sms.gateway import SmsGateway
from langson_comms.testing.gateway_contract import GatewayContract


def _form(body: Any) -> dict[str, str]:
    if not isinstance(body, str):
        return {}
    return {k: v[0] for k, v in parse_qs(body).items()}


class TestMobifoneGatewayContract(GatewayContract):
    contributed_class = MobifoneGateway
    example_config: ClassVar[dict[str, Any]] = {
        "url": "https://sms.example.vn/smsbn/api", "username": "langson",
        "password_env": "LANGSON_MOBIFONE_TEST_PASSWORD"}
    plugin = langson_comms_mobifone

    @pytest.fixture(autouse=True)
    def _password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LANGSON_MOBIFONE_TEST_PASSWORD", "secret")

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        return MobifoneGateway.from_config(table(base_url, timeout=timeout), context(), env=ENV)

    def vendor_answer(self, body: Any) -> Any:
        form = _form(body)
        if "userName" in form:
            return {"status": "0", "sid": "S1"}
        return {"status": "0", "msgid": f"M{form.get('requestId', '')}"}

    def vendor_rejection(self, body: Any) -> Any:
        if "userName" in _form(body):
            return {"status": "0", "sid": "S1"}
        return {"status": "2", "desc": "invalid recipient"}

    def vendor_fatal(self, body: Any) -> Any:
        return {"status": "9", "desc": "account locked"}
