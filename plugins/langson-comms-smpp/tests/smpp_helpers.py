"""Building SMPP gateways against the test SMSC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langson_comms_smpp import SmppGateway
from langson_comms_smpp.testing import TestSmsc

from langson_comms.config import ConfigContext
from langson_comms.sms.ledger import DeliveryReport

ENV = {"SMPP_PASSWORD": "secret"}


def context() -> ConfigContext:
    return ConfigContext(source="campaign.toml", base_dir=".", key="channels.sms.gateways.smpp")


def make_gateway(smsc: TestSmsc | int, **config: Any) -> SmppGateway:
    port = smsc if isinstance(smsc, int) else smsc.port
    table: dict[str, Any] = {"host": "127.0.0.1", "port": port, "system_id": "langson",
                             "password_env": "SMPP_PASSWORD", "source_addr": "LANGSON",
                             # generous: a loaded machine can take a second to answer
                             "bind_timeout": 5.0, "response_timeout": 5.0,
                             "throttle_backoff": 0.05}
    table.update(config)
    return SmppGateway.from_config(table, context(), env=ENV)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds, failing after ``timeout`` seconds: for what
    another task (the session's reader, the SMSC) does in its own time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.02)


async def wait_reports(gateway: SmppGateway, count: int, timeout: float = 5.0) -> list[DeliveryReport]:
    reports: list[DeliveryReport] = []
    deadline = time.monotonic() + timeout
    while len(reports) < count and time.monotonic() < deadline:
        reports += await gateway.poll_reports()
        await asyncio.sleep(0.02)
    return reports
