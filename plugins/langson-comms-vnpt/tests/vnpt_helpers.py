"""Building VNPT gateways against the loopback simulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langson_comms_vnpt import VnptGateway
from langson_comms_vnpt.testing import VnptSimulator

from langson_comms.config import ConfigContext
from langson_comms.sms.gateway import OutgoingSms, SubmitResult

API_PASS = "vnpt-s3cret-pass"
ENV = {"VNPT_API_PASS": API_PASS}


def context(base_dir: Path = Path(".")) -> ConfigContext:
    return ConfigContext(source="campaign.toml", base_dir=base_dir, key="channels.sms.gateways.vnpt")


def table(url: str, **config: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"url": url, "api_user": "langson_api", "agent_id": "244",
                              "contract_id": "13681", "template_id": "T-FREE-1",
                              "username": "langson", "api_pass_env": "VNPT_API_PASS",
                              "label_id": "LANGSON", "timeout": 5.0, "throttle_backoff": 0.05}
    values.update(config)
    return values


def make_gateway(url: str, **config: Any) -> VnptGateway:
    return VnptGateway.from_config(table(url, **config), context(), env=ENV)


def sms(ref: int = 1, msisdn: str = "+84912345678", text: str = "Tai ung dung Cong dan so",
        *, unicode: bool = False, key: str | None = None) -> OutgoingSms:
    return OutgoingSms(ref, msisdn, text, unicode=unicode,
                       idempotency_key=f"key-{ref}" if key is None else key)


async def send_async(gateway: VnptGateway, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
    client = gateway.make_client()
    gateway.bind_client(client)
    try:
        return await gateway.send(list(batch))
    finally:
        await client.aclose()


def send(gateway: VnptGateway, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
    """Send ``batch`` through ``gateway`` (its own client), bounded in time."""
    return asyncio.run(asyncio.wait_for(send_async(gateway, batch), 20))


@contextlib.contextmanager
def simulator(**options: Any) -> Iterator[VnptSimulator]:
    """A ``VnptSimulator`` serving from a background thread."""
    with VnptSimulator(**options) as sim:
        yield sim
