"""The test kit's gateway contract, played in SMPP by the test SMSC."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import langson_comms_smpp
import pytest
from langson_comms_smpp import SmppGateway
from langson_comms_smpp.status import Status
from langson_comms_smpp.testing import TestSmsc
from smpp_helpers import make_gateway

from langson_comms.sms.gateway import SmsGateway
from langson_comms.testing.gateway_contract import GatewayContract

#: The contract's HTTP-flavoured modes as an SMSC plays them.
MODES: dict[str, dict[str, Any]] = {
    "ok": {},
    "reject": {"status": Status.ESME_RINVDSTADR},      # the message's fault: permanent
    "503": {"status": Status.ESME_RSYSERR},            # the SMSC's trouble: transient
    "429": {"status": Status.ESME_RTHROTTLED},         # throttled: transient, backoff
    "401": {"password": "not-ours"},                   # bind refused: permanent, 401
    "400": {"status": Status.ESME_RINVOPTPARAMVAL},    # malformed submit: permanent
    "hang": {"hang": True},                            # no submit_sm_resp: transient
    "garbage": {"garbage": True},                      # not SMPP at all
}


class ContractSmsc:
    """``CannedServer``'s interface over ``TestSmsc``."""

    def __init__(self, mode: str) -> None:
        self.smsc = TestSmsc(**MODES[mode])
        self.no_rejection = False

    @property
    def requests(self) -> list[int]:
        return list(range(self.smsc.submits + self.smsc.refused_binds))

    async def start(self) -> str:
        return f"smpp://127.0.0.1:{await self.smsc.start()}"

    async def stop(self) -> None:
        await self.smsc.stop()


class TestSmppGatewayContract(GatewayContract):
    contributed_class = SmppGateway
    uses_http_client = False
    example_config: ClassVar[dict[str, Any]] = {
        "host": "smsc.example.vn", "system_id": "langson", "password_env": "LANGSON_SMPP_TEST_PASSWORD"}
    plugin = langson_comms_smpp

    @pytest.fixture(autouse=True)
    def _password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LANGSON_SMPP_TEST_PASSWORD", "secret")

    def contract_server(self, mode: str) -> ContractSmsc:
        return ContractSmsc(mode)

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        # SMPP has no Retry-After: throttling waits `throttle_backoff` (2 s, as the
        # contract's 429 says)
        port = urlsplit(base_url).port or 0
        return make_gateway(port, bind_timeout=timeout, response_timeout=timeout,
                            throttle_backoff=2.0)

    def vendor_answer(self, body: Any) -> Any:
        raise AssertionError("not used: the SMSC answers")

    def vendor_rejection(self, body: Any) -> Any:
        raise AssertionError("not used: the SMSC answers")
