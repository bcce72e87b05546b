"""Building MobiFone gateways against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from langson_comms_mobifone import MobifoneGateway
from langson_comms_mobifone.testing import MobifoneSimulator

from langson_comms.config import ConfigContext
from langson_comms.sms.gateway import OutgoingSms

PASSWORD = "mobi-secret-1"
ENV = {"MOBIFONE_PASSWORD": PASSWORD}


def context(base_dir: str = ".") -> ConfigContext:
    return ConfigContext(source="campaign.toml", base_dir=base_dir,
                         key="channels.sms.gateways.mobifone")


def table(url: str, **config: Any) -> dict[str, Any]:
    return {"url": url, "username": "langson", "password_env": "MOBIFONE_PASSWORD",
            "sender": "LANGSON", "timeout": 5.0, "throttle_backoff": 0.05, **config}


def make_gateway(sim: MobifoneSimulator | str, **config: Any) -> MobifoneGateway:
    url = sim if isinstance(sim, str) else sim.url
    gateway = MobifoneGateway.from_config(table(url, **config), context(), env=ENV)
    gateway.bind_client(gateway.make_client())
    return gateway


async def close(gateway: MobifoneGateway) -> None:
    await gateway.close()
    await gateway.client.aclose()


def sms(ref: int, text: str = "Thong bao", **kw: Any) -> OutgoingSms:
    kw.setdefault("idempotency_key", f"key-{ref}")
    return OutgoingSms(ref, f"+8490100{ref:04d}", text, **kw)


def run(main: Callable[[], Awaitable[None]], timeout: float = 20) -> None:
    asyncio.run(asyncio.wait_for(main(), timeout))
