"""Secrets never echoed: one ``Scrubber`` built from the configured secret values.

Gateway credentials, callback tokens and station secrets can come back in text we did
not write: a vendor's error message that repeats the API key, a client that sends its
token in a body field, an HTTP parser error that quotes a header line.  Before such text
is stored (a ledger ``reason``), logged or sent in an error body, it goes through
``Scrubber.scrub``, which replaces every configured secret value -- and its URL-encoded
form -- with ``<redacted>``.  ``ScrubFilter`` does the same for log records (message,
arguments, exception text); ``scrubbing_logs`` attaches one to the handlers of the root
logger (and Python's last-resort handler) for the duration of a command.

Values shorter than ``MIN_LENGTH`` characters are not scrubbed (they would garble
ordinary text); a credential that short is no credential.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from urllib.parse import quote

import attrs

__all__ = ["MIN_LENGTH", "REPLACEMENT", "ScrubFilter", "Scrubber", "clean_secret",
           "scrubbing_logs"]

MIN_LENGTH = 6
REPLACEMENT = "<redacted>"


def clean_secret(value: str) -> str:
    """A secret as read from a file or the environment: surrounding whitespace (a CRLF
    line end, a trailing newline) stripped.  Raises ``ValueError`` naming the problem
    (never the value) when it is empty or holds a control character."""
    cleaned = value.strip()
    if not cleaned:
        raise ValueError("is empty")
    for index, char in enumerate(cleaned):
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise ValueError(f"holds a control character (U+{ord(char):04X}) at position "
                             f"{index + 1}")
    return cleaned


def _variants(value: str) -> set[str]:
    return {value, value.strip(), quote(value, safe=""), quote(value.strip(), safe="")}


@attrs.frozen
class Scrubber:
    """Replaces each of ``secrets`` (longest first) in a text with ``<redacted>``."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Scrubber:
        """A scrubber for ``values`` (``None``, empty and very short values left out)."""
        found: set[str] = set()
        for value in values:
            if value:
                found |= {v for v in _variants(value) if len(v) >= MIN_LENGTH}
        return cls(tuple(sorted(found, key=lambda v: (-len(v), v))))

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def __add__(self, other: Scrubber) -> Scrubber:
        return Scrubber.of([*self.secrets, *other.secrets])

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REPLACEMENT)
        return text

    def __call__(self, text: str) -> str:
        return self.scrub(text)


class ScrubFilter(logging.Filter):
    """A logging filter (for handlers) that scrubs a record's text before it is formatted."""

    def __init__(self, scrubber: Scrubber) -> None:
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self.scrubber.scrub
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, scrubbed
            message = f"{record.msg} {record.args}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


@contextlib.contextmanager
def scrubbing_logs(scrubber: Scrubber, logger: logging.Logger | None = None) -> Iterator[None]:
    """Scrub every record that reaches ``logger``'s handlers (default: the root logger's,
    and ``logging.lastResort``, which prints when none is configured) while inside."""
    target = logger or logging.getLogger()
    flt = ScrubFilter(scrubber)
    handlers = list(target.handlers)
    if logger is None and logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        handler.addFilter(flt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(flt)
