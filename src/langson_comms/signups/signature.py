"""The webhook signature: HMAC-SHA256 over ``"<timestamp>.<raw body>"``.

A sender signs each request with the secret shared with the campaign::

    X-Langson-Timestamp: 1656640800
    X-Langson-Signature: sha256=<hex of HMAC-SHA256(secret, b"1656640800." + body)>

``sign`` computes the header value, ``signed_headers`` both headers; ``verify`` checks
them (constant-time comparison) and raises ``SignatureRefused`` saying what is wrong —
never the secret nor the expected signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS",
    "SignatureRefused",
    "sign",
    "signed_headers",
    "verify",
]

TIMESTAMP_HEADER = "X-Langson-Timestamp"
SIGNATURE_HEADER = "X-Langson-Signature"
#: how far a request's timestamp may be from the receiver's clock, either way
TOLERANCE_SECONDS = 300

_SIGNATURE_RE = re.compile(r"^sha256=([0-9a-f]{64})$")
_TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")  # ASCII only: int() also reads other scripts


class SignatureRefused(Exception):
    """The request's timestamp or signature is not acceptable; the text says why."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers a sender adds to a request carrying ``body``."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: bytes, headers: Mapping[str, str], body: bytes, *, now: float,
           tolerance: float = TOLERANCE_SECONDS) -> tuple[int, str]:
    """Check the headers of a request against ``body``; return ``(timestamp, hex signature)``.

    Raises ``SignatureRefused`` for a missing or malformed header, a timestamp more than
    ``tolerance`` seconds from ``now`` (stale, or too far in the future), or a signature
    that does not match.
    """
    raw_ts = headers.get(TIMESTAMP_HEADER)
    raw_sig = headers.get(SIGNATURE_HEADER)
    if raw_ts is None or raw_sig is None:
        missing = TIMESTAMP_HEADER if raw_ts is None else SIGNATURE_HEADER
        raise SignatureRefused(f"header {missing} is missing")
    if not _TIMESTAMP_RE.match(raw_ts.strip()):
        raise SignatureRefused(f"header {TIMESTAMP_HEADER} is not unix seconds (expected digits only)")
    match = _SIGNATURE_RE.match(raw_sig.strip())
    if match is None:
        raise SignatureRefused(f"header {SIGNATURE_HEADER} is malformed (expected sha256=<64 lower-case hex digits>)")
    timestamp = int(raw_ts.strip())
    age = now - timestamp
    if age > tolerance:
        raise SignatureRefused(f"the timestamp is {int(age)} s old (at most {int(tolerance)} s accepted)")
    if -age > tolerance:
        raise SignatureRefused(f"the timestamp is {int(-age)} s in the future (at most {int(tolerance)} s accepted)")
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), raw_sig.strip().encode("ascii")):
        raise SignatureRefused("the signature does not match the body and timestamp")
    return timestamp, match[1]
