"""The ``[channels.sms.gateways.<id>]`` table of a ``kind = "zns"`` gateway (README)."""

from __future__ import annotations

import re
import string
from typing import Any

import attrs

from langson_comms.config import InvalidValue, at_least
from langson_comms.sms.gateway import GatewayCapabilities

__all__ = ["ZnsConfig"]


def _above_zero(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidValue(attribute.name, f"{value!r} must be greater than 0")


def _digits(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not (value.isascii() and value.isdigit()):
        raise InvalidValue(attribute.name, f"{value!r} is not an id (digits)")


def _pattern(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    try:
        re.compile(value)
    except re.error as exc:
        raise InvalidValue(attribute.name, f"not a regular expression: {exc}") from None


@attrs.frozen
class ZnsConfig:
    app_id: str = attrs.field(validator=_digits)
    template_id: str = attrs.field(validator=_digits)
    #: template parameter → value; ``{text}`` is the rendered SMS text, ``{name}`` a named
    #: group of ``text_pattern`` matched in it
    template_data: dict[str, str]
    #: the JSON file holding the OAuth tokens (README): relative to the campaign file
    token_file: str
    app_secret_env: str | None = None
    app_secret_file: str | None = None
    text_pattern: str | None = attrs.field(default=None, validator=_pattern)
    url: str = "https://business.openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    max_batch: int = attrs.field(default=10, validator=at_least(1))
    concurrency: int = attrs.field(default=4, validator=at_least(1))
    rate_msgs: float | None = attrs.field(default=None, validator=_above_zero)
    burst: float = attrs.field(default=0.1, validator=_above_zero)
    timeout: float = attrs.field(default=10.0, validator=_above_zero)
    transport: str = "aiohttp"
    #: refresh the access token when it has fewer seconds than this left
    refresh_margin: float = attrs.field(default=300.0, validator=_above_zero)
    throttle_backoff: float = attrs.field(default=1.0, validator=_above_zero)

    def capabilities(self) -> GatewayCapabilities:
        # A ZNS message is one template message whatever its length: no segments.
        return GatewayCapabilities(
            max_batch=self.max_batch, rate_msgs=self.rate_msgs, burst=self.burst,
            concurrency=self.concurrency, supports_unicode=True, supports_idempotency=True,
            supports_polling=False, max_parts=1000,
        )

    def fields_used(self) -> dict[str, set[str]]:
        """Template parameter → the ``{names}`` its value uses."""
        used: dict[str, set[str]] = {}
        for param, value in self.template_data.items():
            used[param] = {name for _, name, _, _ in string.Formatter().parse(value)
                           if name is not None}
        return used
