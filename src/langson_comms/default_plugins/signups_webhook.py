"""The built-in ``webhook`` sign-up source: platforms POST signed events to us.

Written as a third party would: it subclasses the public ``ReceivingSource`` and maps
JSON with ``langson_comms.signups.json_items``; ``signups serve KEY`` runs it (see
``langson_comms.signups.receiver`` for what each request goes through).

A ``[signups.<key>]`` table of kind ``webhook``::

    [signups.voso_hook]
    kind = "webhook"
    platform = "voso"
    secret_env = "LANGSON_VOSO_WEBHOOK_SECRET"   # or secret_file = "secrets/voso.key"
    default_kind = "seller_registered"           # when an event has no kind
    fields = { external_id = "id", occurred_at = "created_at", phone = "seller.phone" }
    max_body = 1048576                           # bytes; larger bodies are refused (413)
    max_events = 1000                            # events per request
    tolerance = 300                              # seconds a timestamp may be off, either way
    read_timeout = 30.0                          # seconds for the body to arrive (else 408)

The secret never sits in the campaign file: ``secret_env`` names an environment
variable, ``secret_file`` a file (relative to the campaign file) readable by its owner
only.  Either way it must be at least 16 bytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs

from langson_comms import hookimpl
from langson_comms.config import NOT_A_KEY, ConfigContext, at_least, config_keys
from langson_comms.errors import ConfigError
from langson_comms.signups import Batch, SignupEvent, source_key
from langson_comms.signups.event import kind_name
from langson_comms.signups.json_items import EVENT_FIELDS, item_event, json_type
from langson_comms.signups.receiver import ReceivingSource, RequestRefused, parse_json_body
from langson_comms.sms.numbers import NumberNormalizer

__all__ = ["MIN_SECRET_BYTES", "WebhookSource", "register_signup_sources"]

MIN_SECRET_BYTES = 16
#: problems listed in a 400 answer
_PROBLEMS_SHOWN = 20


@attrs.frozen
class WebhookSource(ReceivingSource):
    """Sign-ups POSTed by a platform, HMAC-signed (see the module docstring for the keys)."""

    name: ClassVar[str] = "webhook"

    secret_env: str | None = None
    secret_file: str | None = None
    fields: dict[str, str] = attrs.field(factory=dict)
    default_kind: str | None = None
    max_body: int = attrs.field(default=1 << 20, validator=at_least(64))
    max_events: int = attrs.field(default=1000, validator=at_least(1))
    tolerance: int = attrs.field(default=300, validator=at_least(1))
    read_timeout: float = 30.0
    #: the campaign file's folder, for a relative secret_file (set by from_config, not a key)
    base_dir: str = attrs.field(default=".", kw_only=True, metadata={NOT_A_KEY: True})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        for forbidden in ("key", "base_dir"):
            if forbidden in config:
                raise context.error(f"unknown key (expected one of: {', '.join(config_keys(cls))})", forbidden)
        for clear in ("secret", "token", "password"):
            if clear in config:
                raise context.error("a secret never goes in the campaign file: name an environment "
                                    "variable (secret_env) or a file (secret_file)", clear)
        built = context.structure({**config, "key": source_key(context)}, cls)
        if (built.secret_env is None) == (built.secret_file is None):
            raise context.error("expected exactly one of secret_env (an environment variable's name) "
                                "or secret_file (a file holding the secret)", "secret_env")
        for field in built.fields:
            if field not in EVENT_FIELDS:
                raise context.error(f"{field!r} is not an event field (expected one of: {', '.join(EVENT_FIELDS)})",
                                    f"fields.{field}")
        if built.default_kind is not None:
            try:
                kind_name(built.default_kind)
            except ValueError as exc:
                raise context.error(str(exc), "default_kind") from None
        if not 0 < built.read_timeout <= 3600:
            raise context.error(f"{built.read_timeout!r} is out of range (expected seconds, more than 0 "
                                "and at most 3600)", "read_timeout")
        return attrs.evolve(built, base_dir=str(context.base_dir))

    # -- the receiver's questions ------------------------------------------------------------

    @property
    def body_limit(self) -> int:
        return self.max_body

    @property
    def timestamp_tolerance(self) -> float:
        return float(self.tolerance)

    @property
    def body_timeout(self) -> float:
        return self.read_timeout

    def secret(self, env: Mapping[str, str]) -> bytes:
        where = f"signups.{self.key}"
        if self.secret_env is not None:
            value = env.get(self.secret_env)
            if not value:
                raise ConfigError(f"environment variable {self.secret_env} is not set (the webhook's secret)",
                                  key=f"{where}.secret_env")
            secret = value.encode("utf-8")
            origin = f"{where}.secret_env"
        else:
            assert self.secret_file is not None
            path = Path(self.secret_file)
            path = path if path.is_absolute() else Path(self.base_dir) / path
            try:
                mode = path.stat().st_mode
                secret = path.read_bytes().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the secret file {path}: {exc.strerror or exc}",
                                  key=f"{where}.secret_file") from None
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(f"the secret file {path} is readable by others (expected chmod 600)",
                                  key=f"{where}.secret_file")
            origin = f"{where}.secret_file"
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(f"the secret is {len(secret)} bytes long (at least {MIN_SECRET_BYTES})", key=origin)
        return secret

    def parse(self, body: bytes, request_id: str) -> Batch:
        data = parse_json_body(body)
        if isinstance(data, Mapping):
            items: list[Any] = [data]
            single = True
        elif isinstance(data, list):
            items, single = data, False
        else:
            raise RequestRefused(400, f"the body is {json_type(data)}, expected one event object or an array of them",
                                 (("$", f"is {json_type(data)}"),))
        if not items:
            raise RequestRefused(400, "the body is an empty array (expected at least one event)", (("$", "empty"),))
        if len(items) > self.max_events:
            raise RequestRefused(413, f"{len(items)} events in one request (at most {self.max_events})")
        normalizer = NumberNormalizer()
        events: list[SignupEvent] = []
        problems: list[tuple[str, str]] = []
        for i, item in enumerate(items):
            at = "$" if single else f"$[{i}]"
            found = item_event(item, fields=self.fields, platform=self.platform, default_kind=self.default_kind,
                               source=f"{self.key}:request {request_id}" + ("" if single else f"[{i}]"),
                               normalizer=normalizer)
            if isinstance(found, SignupEvent):
                events.append(found)
            else:
                path, reason = found
                problems.append((f"{at}.{path}" if path else at, reason))
        if problems:
            shown = tuple(problems[:_PROBLEMS_SHOWN])
            more = f" (first {len(shown)} listed)" if len(problems) > len(shown) else ""
            raise RequestRefused(400, f"{len(problems)} of {len(items)} events are not acceptable{more}; "
                                 "nothing was stored", shown)
        return Batch(events=tuple(events))


@hookimpl
def register_signup_sources() -> list[type[Any]]:
    return [WebhookSource]
