"""The ``[channels.sms.gateways.<id>]`` table of a ``kind = "viettel"`` gateway (README)."""

from __future__ import annotations

from typing import Any

import attrs

from langson_comms.config import InvalidValue, at_least, at_most
from langson_comms.sms.gateway import GatewayCapabilities

__all__ = ["ViettelCodes", "ViettelConfig"]


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


@attrs.frozen
class ViettelCodes:
    """How the ``message`` of an answer whose ``result`` is not 1 is read.

    From public integrations, to be checked against the contract: an unknown code is a
    permanent refusal of that message."""

    #: the service is busy or throttling: retried (``throttled`` after ``throttle_backoff``)
    transient: list[str] = attrs.Factory(lambda: ["SYSTEM_BUSY", "TIMEOUT", "SYSTEM_ERROR"])
    throttled: list[str] = attrs.Factory(lambda: ["TPS_EXCEEDED"])
    #: the account is refused (credentials, balance, brandname): sending stops
    fatal: list[str] = attrs.Factory(lambda: ["AUTHENTICATE_FAIL", "CP_NOT_FOUND", "NOT_ENOUGH_BALANCE",
                                              "SERVICE_ID_NOT_REGISTERED", "IP_NOT_ALLOWED"])
    #: the number is not a Viettel subscriber (ported away): the row takes its next route
    not_subscriber: list[str] = attrs.Factory(lambda: ["NOT_VIETTEL_SUBSCRIBER"])
    #: the RequestID was taken before (a resend after a lost answer): accepted, once
    already: list[str] = attrs.Factory(lambda: ["DUPLICATE_REQUEST_ID"])


@attrs.frozen
class ViettelConfig:
    url: str
    user: str
    cp_code: str
    password_env: str | None = None
    password_file: str | None = None
    #: the brandname (ServiceID) when the channel sets none
    service_id: str | None = None
    command_code: str = "bulksms"
    timeout: float = attrs.field(default=10.0, validator=_above_zero)
    connections: int = attrs.field(default=8, validator=[at_least(1), at_most(1000)])
    transport: str = "aiohttp"
    rate_msgs: float | None = attrs.field(default=None, validator=[_above_zero, at_most(100_000)])
    rate_segments: float | None = attrs.field(default=None, validator=[_above_zero, at_most(100_000)])
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    max_parts: int = attrs.field(default=6, validator=at_least(1))
    throttle_backoff: float = attrs.field(default=1.0, validator=_above_zero)
    codes: ViettelCodes = attrs.Factory(ViettelCodes)

    def capabilities(self) -> GatewayCapabilities:
        # wsCpMt carries one recipient per call; RequestID makes a resend recognisable
        return GatewayCapabilities(
            max_batch=1, rate_msgs=self.rate_msgs, rate_segments=self.rate_segments,
            burst=self.burst, concurrency=self.connections, supports_unicode=True,
            supports_idempotency=True, supports_polling=False, max_parts=self.max_parts,
        )
