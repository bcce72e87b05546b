"""The ``[channels.sms.gateways.<id>]`` table of a ``kind = "smpp"`` gateway (README)."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from langson_comms.config import InvalidValue, at_least
from langson_comms.sms.gateway import GatewayCapabilities

__all__ = ["LongMessages", "SmppConfig"]


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


def _octet(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and not 0 <= value <= 255:
        raise InvalidValue(attribute.name, f"{value!r} is not an octet (0-255)")


def _port(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if not 1 <= value <= 65535:
        raise InvalidValue(attribute.name, f"{value!r} is not a TCP port (1-65535)")


def _c_octet_string(limit: int) -> Any:
    """SMPP C-octet strings are ASCII with a length limit (the spec's, terminator excluded)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
        if value is None:
            return
        if not value.isascii():
            raise InvalidValue(attribute.name, f"{value!r} must be ASCII")
        if len(value) > limit:
            raise InvalidValue(attribute.name, f"{value!r} is longer than {limit} characters")

    return check


def _sender(instance: SmppConfig, attribute: attrs.Attribute[Any], value: str | None) -> None:
    """A number (``+`` allowed) or, with TON 5 (alphanumeric, the default for letters), a
    brandname of at most 11 characters (GSM 03.40) — longer ones every SMSC refuses."""
    _c_octet_string(20)(instance, attribute, value)
    if value is None or value.removeprefix("+").isdigit():
        return
    if instance.source_ton in (None, 5) and len(value) > 11:
        raise InvalidValue(attribute.name, f"{value!r} is longer than 11 characters (an "
                           "alphanumeric sender, TON 5, holds at most 11)")


class LongMessages(enum.StrEnum):
    PAYLOAD = "payload"  # message_payload TLV, one submit_sm, one message id
    UDH = "udh"  # concatenated parts, one submit_sm and one message id each


@attrs.frozen
class SmppConfig:
    host: str
    system_id: str = attrs.field(validator=_c_octet_string(15))
    password_env: str
    port: int = attrs.field(default=2775, validator=_port)
    system_type: str = attrs.field(default="", validator=_c_octet_string(12))
    service_type: str = attrs.field(default="", validator=_c_octet_string(5))
    #: brandname (alphanumeric, up to 11 characters) or a number; the channel's sender wins
    source_addr: str | None = attrs.field(default=None, validator=_sender)
    source_ton: int | None = attrs.field(default=None, validator=_octet)
    source_npi: int | None = attrs.field(default=None, validator=_octet)
    dest_ton: int = attrs.field(default=1, validator=_octet)
    dest_npi: int = attrs.field(default=1, validator=_octet)
    window: int = attrs.field(default=10, validator=at_least(1))
    rate_msgs: float | None = attrs.field(default=None, validator=_above_zero)
    rate_segments: float | None = attrs.field(default=None, validator=_above_zero)
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    max_parts: int = attrs.field(default=6, validator=at_least(1))
    long_messages: LongMessages = LongMessages.PAYLOAD
    registered_delivery: bool = True
    supports_unicode: bool = True
    bind_timeout: float = attrs.field(default=10.0, validator=_above_zero)
    response_timeout: float = attrs.field(default=10.0, validator=_above_zero)
    throttle_backoff: float = attrs.field(default=1.0, validator=_above_zero)

    def capabilities(self) -> GatewayCapabilities:
        # The engine hands batches of up to `window` messages and runs two at once; the
        # gateway's own semaphore keeps at most `window` submit_sm in flight, so the window
        # refills while one batch waits for its last answers.
        return GatewayCapabilities(
            max_batch=self.window, rate_msgs=self.rate_msgs, rate_segments=self.rate_segments,
            burst=self.burst, concurrency=2, supports_unicode=self.supports_unicode,
            supports_idempotency=False, supports_polling=True, max_parts=self.max_parts,
        )

    def source_address(self, sender: str) -> tuple[int, int]:
        """TON/NPI of ``sender``: the configured overrides, else alphanumeric (5/0) for a
        brandname and international (1/1) for digits."""
        if sender.removeprefix("+").isdigit():
            ton, npi = 1, 1
        elif sender:
            ton, npi = 5, 0
        else:
            ton, npi = 0, 0
        return (ton if self.source_ton is None else self.source_ton,
                npi if self.source_npi is None else self.source_npi)
