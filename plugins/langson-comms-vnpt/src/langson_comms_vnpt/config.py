"""The ``[channels.sms.gateways.<id>]`` table of a ``kind = "vnpt"`` gateway (README)."""

from __future__ import annotations

from typing import Any

import attrs

from langson_comms.config import InvalidValue, at_least, at_most
from langson_comms.sms.gateway import GatewayCapabilities

__all__ = ["VnptCodes", "VnptConfig"]


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


@attrs.frozen
class VnptCodes:
    """How ``RPLY.ERROR`` is read (``ok``: accepted).  The defaults are this plugin's (its
    simulator answers with them): set them from the contract's code table.  An unknown
    code is a permanent refusal of that message."""

    ok: list[str] = attrs.Factory(lambda: ["0"])
    transient: list[str] = attrs.Factory(lambda: ["99"])
    throttled: list[str] = attrs.Factory(lambda: ["8"])
    #: the account is refused (credentials, agent/contract, label, template, quota)
    fatal: list[str] = attrs.Factory(lambda: ["1", "2", "3", "4", "9"])
    #: not a VinaPhone subscriber (with ISTELCOSUB 1, a ported number): next route
    not_subscriber: list[str] = attrs.Factory(lambda: ["6"])
    #: the REQID was taken before (a resend after a lost answer): accepted, once
    already: list[str] = attrs.Factory(lambda: ["7"])


@attrs.frozen
class VnptConfig:
    url: str
    api_user: str
    agent_id: str
    contract_id: str
    template_id: str
    username: str
    api_pass_env: str | None = None
    api_pass_file: str | None = None
    #: the brandname (LABELID) when the channel sets none
    label_id: str | None = None
    contract_type_id: str = "1"
    #: ISTELCOSUB: "1" only VinaPhone subscribers (others answer codes.not_subscriber)
    is_telco_sub: str = "0"
    timeout: float = attrs.field(default=10.0, validator=_above_zero)
    connections: int = attrs.field(default=8, validator=[at_least(1), at_most(1000)])
    transport: str = "aiohttp"
    rate_msgs: float | None = attrs.field(default=None, validator=[_above_zero, at_most(100_000)])
    rate_segments: float | None = attrs.field(default=None, validator=[_above_zero, at_most(100_000)])
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    max_parts: int = attrs.field(default=6, validator=at_least(1))
    throttle_backoff: float = attrs.field(default=1.0, validator=_above_zero)
    codes: VnptCodes = attrs.Factory(VnptCodes)

    def capabilities(self) -> GatewayCapabilities:
        # one number per send_sms_list: each row's text is its own (rendered per person)
        return GatewayCapabilities(
            max_batch=1, rate_msgs=self.rate_msgs, rate_segments=self.rate_segments,
            burst=self.burst, concurrency=self.connections, supports_unicode=True,
            supports_idempotency=True, supports_polling=False, max_parts=self.max_parts,
        )
