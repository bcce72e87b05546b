"""Building ZNS gateways against the Zalo simulator."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from langson_comms_zalo import ZnsGateway
from langson_comms_zalo.testing import ZaloSimulator

from langson_comms.config import ConfigContext
from langson_comms.sms.gateway import OutgoingSms

APP_SECRET = "zalo-app-secret-9"
ENV = {"ZALO_APP_SECRET": APP_SECRET}
TEXT = "Chào {ten}, hãy tải ứng dụng Công dân số Xứ Lạng"


def context(base_dir: Path | str = ".") -> ConfigContext:
    return ConfigContext(source="campaign.toml", base_dir=str(base_dir),
                         key="channels.sms.gateways.zns")


def write_tokens(path: Path, refresh: str = "refresh-0", access: str | None = None,
                 expires_at: float | None = None) -> Path:
    data: dict[str, Any] = {"refresh_token": refresh}
    if access is not None:
        data["access_token"] = access
        data["expires_at"] = time.time() + 86400 if expires_at is None else expires_at
    path.write_text(json.dumps(data), encoding="utf-8")
    path.chmod(0o600)
    return path


def table(url: str, oauth_url: str, token_file: Path | str, **config: Any) -> dict[str, Any]:
    return {"app_id": "4321", "template_id": "231456", "template_data": {"ten": "{ten}"},
            "text_pattern": r"^Chào (?P<ten>[^,]+),", "token_file": str(token_file),
            "app_secret_env": "ZALO_APP_SECRET", "url": url, "oauth_url": oauth_url,
            "timeout": 5.0, "throttle_backoff": 0.05, **config}


def make_gateway(sim: ZaloSimulator, token_file: Path, *,
                 checkpoint: Callable[[str], None] | None = None, **config: Any) -> ZnsGateway:
    gateway = ZnsGateway.from_config(table(sim.url, sim.oauth_url, token_file, **config),
                                     context(token_file.parent), env=ENV, checkpoint=checkpoint)
    gateway.bind_client(gateway.make_client())
    return gateway


async def close(gateway: ZnsGateway) -> None:
    await gateway.close()
    await gateway.client.aclose()


def sms(ref: int, name: str = "bà Hoa", **kw: Any) -> OutgoingSms:
    kw.setdefault("idempotency_key", f"key-{ref}")
    return OutgoingSms(ref, f"+8498100{ref:04d}", TEXT.format(ten=name), unicode=True, **kw)


def run(main: Callable[[], Awaitable[None]], timeout: float = 20) -> None:
    asyncio.run(asyncio.wait_for(main(), timeout))
