"""The sign-up event: one install, account opening or first purchase on one platform.

A ``SignupEvent`` is what every source yields.  Its identity is
``(platform, kind, external_id)``: the same event read twice — from two exports, two
sources, a re-polled page or a re-sent webhook — is stored once.

Field rules (applied by the attrs converters, so a source only has to pass text):

* ``occurred_at``: an aware ``datetime`` (a ``pendulum.DateTime`` is one); a naive one
  (or ISO text without an offset) is local time, Asia/Ho_Chi_Minh.  ``parse_occurred_at`` accepts ISO 8601 and the
  Vietnamese ``DD/MM/YYYY[ HH:MM[:SS]]``.
* ``phone``: normalised with the SMS number rules (``langson_comms.sms.numbers``) to
  E.164; a value that is not a valid mobile number is refused (``ValueError`` naming the
  reason, never the number).
* ``commune_code``: an official code, leading zeros dropped (``05971`` → ``5971``).
* ``kind``: one of ``KNOWN_KINDS`` or any lower-case word a plugin uses
  (``[a-z][a-z0-9_]*``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import attrs

from ..clock import LOCAL_TZ
from ..regions import canonical_code
from ..sms.numbers import NumberNormalizer

__all__ = [
    "KNOWN_KINDS",
    "SignupEvent",
    "kind_name",
    "normalize_phone",
    "parse_occurred_at",
    "platform_name",
]

#: the kinds the reference campaign counts; plugins may use others of the same shape
KNOWN_KINDS: tuple[str, ...] = ("install", "account_opened", "first_purchase", "seller_registered")

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_E164_VN_RE = re.compile(r"^\+84\d{9}$")
_VN_DATE_RE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)


@functools.lru_cache(maxsize=1)
def _normalizer() -> NumberNormalizer:
    return NumberNormalizer()


def _shown(value: object) -> str:
    """``repr(value)`` for an error message, unless it looks like a phone number (personal
    data: a column mapped to the wrong header must not quote every number)."""
    text = str(value)
    if sum(c.isdigit() for c in text) >= 9:
        result = _normalizer().normalize(text)
        if result.e164 is not None or result.code == "landline":
            return "a value that looks like a phone number (not shown)"
    return repr(value)


def _name(label: str) -> Callable[[object], str]:
    known: set[str] = set()  # names already checked: a file repeats a handful of them

    def convert(value: object) -> str:
        if value.__class__ is str and value in known:
            return value  # type: ignore[return-value]
        text = str(value).strip() if value is not None else ""
        if not _NAME_RE.match(text):
            raise ValueError(
                f"{_shown(value)} is not a {label} (expected lower-case letters, digits and _, "
                "starting with a letter)"
            )
        if len(known) < 1024:
            known.add(text)
        return text

    return convert


def platform_name(value: object) -> str:
    """A platform name: lower-case letters, digits and ``_`` (``mbbank``, ``cong_dan_so_xu_lang``)."""
    return _PLATFORM(value)


def kind_name(value: object) -> str:
    """A sign-up kind: lower-case letters, digits and ``_`` (``install``, ``account_opened``)."""
    return _KIND(value)


_PLATFORM = _name("platform name")
_KIND = _name("sign-up kind")


def _external_id(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("external_id is empty (expected the platform's own id of the event)")
    if len(text) > 200:
        raise ValueError(f"external_id is {len(text)} characters long (at most 200)")
    return text


@functools.lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def parse_occurred_at(value: object, tz: str = LOCAL_TZ) -> dt.datetime:
    """An aware ``datetime`` from a date-time, a date, or text.

    Naive values are local time in ``tz`` (Asia/Ho_Chi_Minh by default).  Text may be
    ISO 8601 (``2022-07-01T09:30:00+07:00``, ``2022-07-01 09:30``, ``2022-07-01``) or
    Vietnamese day-first (``01/07/2022 09:30``).  Raises ``ValueError`` saying what was
    expected.  Aware values (``pendulum.DateTime`` included) are returned unchanged;
    the others get a ``zoneinfo`` zone — the standard library parses a million rows in
    a fraction of pendulum's time, and ``pendulum.instance()`` converts when wanted.
    """
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_zone(tz))
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=_zone(tz))
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                match = _VN_DATE_RE.match(text)
                if match:
                    hour, minute, second = (int(match[i] or 0) for i in (4, 5, 6))
                    return dt.datetime(int(match[3]), int(match[2]), int(match[1]), hour, minute, second,
                                       tzinfo=_zone(tz))
            elif text:
                parsed = dt.datetime.fromisoformat(text)
                return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_zone(tz))
        except ValueError:
            pass
    raise ValueError(
        f"{_shown(value)} is not a date-time (expected ISO 8601 such as 2022-07-01T09:30:00+07:00, "
        "or DD/MM/YYYY HH:MM; without an offset it is Asia/Ho_Chi_Minh time)"
    )


def _occurred_at(value: object) -> dt.datetime:
    return parse_occurred_at(value)


def normalize_phone(raw: str, normalizer: NumberNormalizer | None = None) -> str:
    """The E.164 form of a Vietnamese mobile number, by the SMS number rules.

    Raises ``ValueError`` with the reason (never the number itself: it is personal data).
    Pass a ``NumberNormalizer`` to reuse one across many rows.
    """
    if _E164_VN_RE.match(raw):
        return raw
    result = (normalizer or NumberNormalizer()).normalize(raw)
    if not result.ok or result.e164 is None:
        # The code (``landline``, ``invalid_number``…), never ``result.reason``: some
        # reasons quote the digits.
        raise ValueError(f"not a usable mobile number ({result.code or result.kind.value})")
    return result.e164


def _phone(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return normalize_phone(text) if text else None


def _commune(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        return _canonical(value)
    return canonical_code(value)


@functools.lru_cache(maxsize=4096)
def _canonical(value: str) -> str:
    return canonical_code(value)


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@attrs.frozen(slots=True)
class SignupEvent:
    """One sign-up on one platform.  Identity: ``(platform, kind, external_id)``.

    ``source`` says where the event was read: ``<source key>:<file>:<line>`` for a file
    row, ``<source key>:page <n>`` for a polled page, ``<source key>:request <id>`` for a
    webhook, so a stored event can always be traced back.
    """

    platform: str = attrs.field(converter=platform_name)
    kind: str = attrs.field(converter=kind_name)
    external_id: str = attrs.field(converter=_external_id)
    occurred_at: dt.datetime = attrs.field(converter=_occurred_at)
    phone: str | None = attrs.field(default=None, converter=_phone, repr=False)
    commune_code: str | None = attrs.field(default=None, converter=_commune)
    team_code: str | None = attrs.field(default=None, converter=_optional_text)
    source: str = ""

    @property
    def identity(self) -> tuple[str, str, str]:
        """``(platform, kind, external_id)``: two events with one identity are one event."""
        return (self.platform, self.kind, self.external_id)
