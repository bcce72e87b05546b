"""The ``[channels.sms.gateways.<id>]`` table of a ``kind = "mobifone"`` gateway (README)."""

from __future__ import annotations

from typing import Any

import attrs

from langson_comms.config import InvalidValue, at_least
from langson_comms.sms.gateway import GatewayCapabilities

__all__ = ["MobifoneConfig"]


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


def _brandname(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not value or len(value) > 11 or not value.isascii()):
        raise InvalidValue(attribute.name, f"{value!r} is not a brandname (1 to 11 ASCII characters)")


@attrs.frozen
class MobifoneConfig:
    #: the API's base URL; ``login.jsp``, ``send.jsp`` and ``send_2.jsp`` are below it
    url: str
    username: str
    password_env: str | None = None
    password_file: str | None = None
    #: the brandname when the channel sets none
    sender: str | None = attrs.field(default=None, validator=_brandname)
    max_batch: int = attrs.field(default=10, validator=at_least(1))
    concurrency: int = attrs.field(default=4, validator=at_least(1))
    rate_msgs: float | None = attrs.field(default=None, validator=_above_zero)
    rate_segments: float | None = attrs.field(default=None, validator=_above_zero)
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    max_parts: int = attrs.field(default=6, validator=at_least(1))
    supports_unicode: bool = True
    timeout: float = attrs.field(default=10.0, validator=_above_zero)
    transport: str = "aiohttp"
    #: seconds to wait after the API says "throttled" in a 200 answer (it gives no Retry-After)
    throttle_backoff: float = attrs.field(default=1.0, validator=_above_zero)

    def capabilities(self) -> GatewayCapabilities:
        return GatewayCapabilities(
            max_batch=self.max_batch, rate_msgs=self.rate_msgs, rate_segments=self.rate_segments,
            burst=self.burst, concurrency=self.concurrency, supports_unicode=self.supports_unicode,
            supports_idempotency=True, supports_polling=False, max_parts=self.max_parts,
        )
