"""Pseudonymising phone numbers (Decree 13/2023/ND-CP: phone numbers are personal data).

The store keeps ``phone_hash = HMAC-SHA256(key, E.164 number as UTF-8)`` in lower-case
hex, never the number, unless the campaign opts in with ``[signups] clear_numbers =
true``.  The SMS ledger stores the same E.164 text in its ``msisdn`` column, so
``phone_hash(key, ledger_row.msisdn)`` joins a sign-up with the SMS sent to the number.
The key is a campaign secret read from the environment variable that
``[signups] pseudonym_key_env`` names (default ``LANGSON_COMMS_PSEUDONYM_KEY``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import attrs

from ..errors import ConfigError
from ..sms.numbers import NumberNormalizer
from .event import normalize_phone

__all__ = ["DEFAULT_KEY_ENV", "Pseudonymizer", "phone_hash"]

DEFAULT_KEY_ENV = "LANGSON_COMMS_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16


def phone_hash(key: bytes, msisdn: str) -> str:
    """``HMAC-SHA256(key, E.164)`` as 64 hex digits.

    ``msisdn`` may be any shape the SMS number rules accept (``0912 345 678``,
    ``+84912345678``, the ledger's ``msisdn``); it is normalised to E.164 first, so one
    number always gives one hash.  Raises ``ValueError`` if it is not a mobile number.
    """
    return hmac.new(key, normalize_phone(msisdn).encode(), hashlib.sha256).hexdigest()


@attrs.frozen
class Pseudonymizer:
    """What the store keeps of a phone number: its keyed hash, and the number only if ``clear``."""

    key: bytes = attrs.field(repr=False)
    clear: bool = False
    _normalizer: NumberNormalizer = attrs.field(factory=NumberNormalizer, eq=False, repr=False, alias="normalizer")

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, key_env: str = DEFAULT_KEY_ENV,
                 clear: bool = False, source: str | None = None) -> Pseudonymizer:
        """Read the key from ``env[key_env]``; ``ConfigError`` saying which variable if unset or short."""
        value = env.get(key_env, "")
        if len(value.encode()) < _MIN_KEY_BYTES:
            state = "is not set" if not value else f"is shorter than {_MIN_KEY_BYTES} bytes"
            raise ConfigError(
                f"environment variable {key_env} {state}: it holds the secret key that "
                "pseudonymises phone numbers (e.g. export "
                f"{key_env}=$(python -c 'import secrets; print(secrets.token_hex(32))'))",
                source=source,
                key="signups.pseudonym_key_env",
            )
        return cls(key=value.encode(), clear=clear)

    def hash(self, e164: str) -> str:
        return hmac.digest(self.key, normalize_phone(e164, self._normalizer).encode(), "sha256").hex()
