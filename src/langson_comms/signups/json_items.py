"""JSON items (a polled API page, a webhook body) → sign-up events, with located problems.

Both network sources (``http_poll``, ``webhook``) read JSON objects whose keys are the
event's field names by default; ``fields`` maps a field to the platform's own key, as a
dotted path into the item (``"user.phone"``, ``"meta.ids.0"``).  ``json_path`` finds
lists and cursors in an answer the same way (``"data.items"``; ``""`` is the answer
itself).

Accepted JSON types per field (``null`` or a missing key is "absent"):

* ``external_id``: a string or an integer;
* ``kind``, ``team_code``: a string;
* ``occurred_at``: a string (ISO 8601, or ``DD/MM/YYYY HH:MM``; without an offset it is
  Asia/Ho_Chi_Minh time) or a number of unix seconds;
* ``phone``: a string (an integer is refused: it has lost its leading zero);
* ``commune_code``: a string or an integer.

Every text value is at most ``MAX_LENGTHS[field]`` characters (``external_id`` 200,
``kind`` and ``team_code`` 64, ``commune_code`` 16, ``phone`` 32, an ``occurred_at``
string 64) and has no control character (U+0000–U+001F, U+007F–U+009F, U+2028, U+2029).

A problem is ``(path, reason)``: the item's key (``user.phone``) and what was expected;
never the phone number itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final

import pendulum

from ..clock import LOCAL_TZ
from ..sms.numbers import NumberNormalizer
from .event import SignupEvent, parse_occurred_at

__all__ = ["EVENT_FIELDS", "MAX_LENGTHS", "MISSING", "item_event", "json_path", "json_type"]

#: the event fields a JSON item may hold, by their default key
EVENT_FIELDS: Final = ("external_id", "kind", "occurred_at", "phone", "commune_code", "team_code")

#: the longest text accepted per field, in characters (a longer one is refused, never cut)
MAX_LENGTHS: Final = {"external_id": 200, "kind": 64, "occurred_at": 64, "phone": 32, "commune_code": 16,
                      "team_code": 64}
_CONTROL_RE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: what ``json_path`` returns when the path leads nowhere
MISSING: Final[Any] = _Missing()


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type (``object``, ``array``, ``string``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def json_path(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``data`` (``""``: ``data`` itself), else ``MISSING``.

    A segment made of digits indexes an array (``items.0.id``).
    """
    if not path:
        return data
    current = data
    for segment in path.split("."):
        if isinstance(current, Mapping):
            if segment not in current:
                return MISSING
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit():
            index = int(segment)
            if index >= len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current


def _text(value: Any, path: str, *, numbers: bool, longest: int) -> str | tuple[str, str] | None:
    if value is MISSING or value is None:
        return None
    if isinstance(value, str):
        if len(value) > longest:
            return path, f"is {len(value)} characters long (at most {longest})"
        control = _CONTROL_RE.search(value)
        if control is not None:
            return path, (f"has a control character U+{ord(control[0]):04X} at character {control.start() + 1} "
                          "(expected printable text)")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:  # JSON allows "\ud800"; no store can hold it
                return path, (f"has a lone surrogate {value[exc.start]!r} at character {exc.start + 1} "
                              "(expected text; the sender's encoder is broken)")
        return value
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        return text if len(text) <= longest else (path, f"is {len(text)} digits long (at most {longest})")
    expected = "a string or an integer" if numbers else "a string"
    return path, f"is {json_type(value)}, expected {expected}"


def item_event(
    item: Any,
    *,
    fields: Mapping[str, str],
    platform: str,
    source: str,
    default_kind: str | None = None,
    normalizer: NumberNormalizer | None = None,
) -> SignupEvent | tuple[str, str]:
    """The event in one JSON ``item``, or ``(path, reason)`` for its first problem.

    ``fields`` maps event fields to dotted paths (unmapped fields use their own name).
    """
    if not isinstance(item, Mapping):
        return "", f"the item is {json_type(item)}, expected an object"
    path = {f: fields.get(f, f) for f in EVENT_FIELDS}
    values: dict[str, str | None] = {}
    for field in ("external_id", "kind", "phone", "commune_code", "team_code"):
        got = _text(json_path(item, path[field]), path[field],
                    numbers=field in ("external_id", "commune_code"), longest=MAX_LENGTHS[field])
        if isinstance(got, tuple):
            return got
        values[field] = got
    if not values["external_id"]:
        return path["external_id"], "is missing (expected the platform's own id of the event)"
    kind = values["kind"] or default_kind
    if not kind:
        return path["kind"], ("is missing (expected install, account_opened, first_purchase, "
                              "seller_registered, or set default_kind)")
    raw_time = json_path(item, path["occurred_at"])
    if raw_time is MISSING or raw_time is None:
        return path["occurred_at"], "is missing (expected an ISO 8601 date-time or unix seconds)"
    occurred: dt.datetime
    try:
        if isinstance(raw_time, int | float) and not isinstance(raw_time, bool):
            occurred = pendulum.from_timestamp(float(raw_time), tz=LOCAL_TZ)
        elif isinstance(raw_time, str):
            checked = _text(raw_time, path["occurred_at"], numbers=False, longest=MAX_LENGTHS["occurred_at"])
            if isinstance(checked, tuple):
                return checked
            occurred = parse_occurred_at(raw_time)
        else:
            return path["occurred_at"], f"is {json_type(raw_time)}, expected a string or unix seconds"
    except (ValueError, OverflowError, OSError) as exc:
        return path["occurred_at"], str(exc) if isinstance(exc, ValueError) else "is not a usable time"
    phone: str | None = None
    if values["phone"]:
        result = (normalizer or NumberNormalizer()).normalize(values["phone"])
        if not result.ok:
            return path["phone"], f"not a usable mobile number ({result.code or result.kind.value})"
        phone = result.e164
    try:
        return SignupEvent(platform=platform, kind=kind, external_id=values["external_id"],
                           occurred_at=occurred, phone=phone, commune_code=values["commune_code"],
                           team_code=values["team_code"], source=source)
    except ValueError as exc:
        text = str(exc)
        for field in ("external_id", "kind"):
            if field.replace("_", " ") in text or field in text:
                return path[field], text
        return path["commune_code"], text
