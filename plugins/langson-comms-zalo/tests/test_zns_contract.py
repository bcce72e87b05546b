"""The test kit's gateway contract, played by the canned server in ZNS's format."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import langson_comms_zalo
import pytest
from langson_comms_zalo import ZnsGateway
from zns_helpers import ENV, context, table, write_tokens

from langson_comms.sms.gateway import SmsGateway
from langson_comms.testing.gateway_contract import GatewayContract


class TestZnsGatewayContract(GatewayContract):
    contributed_class = ZnsGateway
    example_config: ClassVar[dict[str, Any]] = {
        "app_id": "4321", "template_id": "231456", "template_data": {"noi_dung": "{text}"},
        "token_file": "zalo-tokens.json", "app_secret_env": "LANGSON_ZALO_TEST_SECRET"}
    plugin = langson_comms_zalo
    folder: Path

    @pytest.fixture(autouse=True)
    def _secret_and_tokens(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        monkeypatch.setenv("LANGSON_ZALO_TEST_SECRET", "secret")
        monkeypatch.chdir(tmp_path)  # example_config's token file, relative to "."
        write_tokens(tmp_path / "zalo-tokens.json", access="A-fresh")
        self.folder = tmp_path

    def make_gateway(self, base_url: str, timeout: float) -> SmsGateway:
        tokens = write_tokens(self.folder / "tokens.json", access="A-fresh")
        return ZnsGateway.from_config(
            table(base_url, base_url + "/oauth", tokens, timeout=timeout,
                  template_data={"noi_dung": "{text}"}, text_pattern=None),
            context(self.folder), env=ENV)

    def vendor_answer(self, body: Any) -> Any:
        return {"error": 0, "message": "Success", "data": {"msg_id": f"z{body['tracking_id']}"}}

    def vendor_rejection(self, body: Any) -> Any:
        return {"error": -108, "message": "Phone number is invalid"}

    def vendor_fatal(self, body: Any) -> Any:
        return {"error": -137, "message": "Payment for ZNS failed"}
