"""Limits every campaign file keeps, whatever its tables: what no sensible value goes beyond.

The TOML parser accepts integers of any size, ``nan`` and ``inf``, the year 1 and the
year 9999, and arrays nested thousands deep (it then raises ``RecursionError``).  A
campaign needs none of these, and each would fail much later and far away (an SQLite
overflow in ``sms send``, a schedule in the year 9999).  So the loader refuses them at
``validate``, each as a located ``Problem``, alongside the tables' own problems:

- ``nesting_problem``: where the text nests arrays or inline tables too deep;
- ``value_problems``: every integer beyond 64 bits, every non-finite float, every date or
  date-time outside ``YEARS``, every value nested deeper than ``MAX_DEPTH``;
- ``huge_integer_problem``: where an integer has thousands of digits (the parser gives up);
- ``key_problem``: a ``[messages|channels|targets.<key>]`` key that is not a safe
  identifier (message keys name the sender's lock file and the ledger's rows);
- ``text_key_problems``: every key of Python values (``build_campaign``) that is not a
  string, as no campaign file can have one;
- ``year_problem``: the message for a date whose year is outside ``YEARS`` (also used by
  the date hook of ``config`` and by plugins parsing date strings).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import Problem

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "SAFE_KEY",
    "YEARS",
    "key_problem",
    "nesting_problem",
    "text_key_problems",
    "value_problems",
    "year_problem",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: arrays and inline tables nested deeper than this are refused (real files nest ≤ 5)
MAX_DEPTH = 64
#: a campaign (or configuration) file larger than this is refused unread (real ones: < 50 kB)
MAX_FILE_BYTES = 16 * 2**20
#: the years a campaign date may fall in
YEARS = range(2000, 2101)
#: a safe key: ASCII letter first, then letters, digits, ``_`` and ``-``; at most 64
SAFE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")

_NESTED = f"values nested more than {MAX_DEPTH} deep (arrays or inline tables)"


def year_problem(value: object, year: int) -> str | None:
    """The message for ``value`` if ``year`` is outside ``YEARS``, else None."""
    if year in YEARS:
        return None
    return (f"{value} is in the year {year}; expected a year between "
            f"{YEARS.start} and {YEARS.stop - 1}")


def key_problem(key: str) -> str | None:
    """The message for a table key that is not a safe identifier, else None."""
    if SAFE_KEY.fullmatch(key):
        return None
    return (f"{key!r} is not a safe key (expected 1–64 ASCII letters, digits, _ and -, "
            "starting with a letter)")


# Strings and comments are skipped whole, so brackets inside them do not count.
_TOKENS = re.compile(
    r'"""(?:\\.|[^\\])*?"""'       # multi-line basic string
    r"|'''.*?'''"                  # multi-line literal string
    r'|"(?:\\.|[^"\\\n])*"'        # basic string
    r"|'[^'\n]*'"                  # literal string
    r"|#[^\n]*"                    # comment
    r"|[\[\]{}\n]",
    re.DOTALL,
)


def nesting_problem(text: str) -> Problem | None:
    """The first line where arrays or inline tables nest deeper than ``MAX_DEPTH``, if any.

    A scan of the text, for when the parser itself gave up (``RecursionError``): table
    headers count as one or two levels, which does not matter at this depth.
    """
    depth, line = 0, 1
    for match in _TOKENS.finditer(text):
        token = match[0]
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return Problem("", _NESTED, line)
        elif token in "]}":
            depth = max(depth - 1, 0)
        else:
            line += token.count("\n")
    return Problem("", _NESTED, None) if depth > MAX_DEPTH else None


_LONG_NUMBER = re.compile(r"[0-9][0-9_]{4000,}")


def huge_integer_problem(text: str, exc: ValueError) -> Problem:
    """The parser's ``ValueError`` for an integer of thousands of digits, located."""
    match = _LONG_NUMBER.search(text)
    line = text.count("\n", 0, match.start()) + 1 if match else None
    what = "an integer of thousands of digits" if match else str(exc)
    return Problem("", f"{what} does not fit a 64-bit integer "
                       f"(expected {INT64_MIN:,} … {INT64_MAX:,})", line)


def value_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    """Every value of a parsed file outside the limits, with its key path."""
    stack: list[tuple[str, Any, int]] = [(key, value, 1) for key, value in
                                         reversed(list(data.items()))]
    while stack:
        key, value, depth = stack.pop()
        if isinstance(value, Mapping | list):
            if depth > MAX_DEPTH:
                yield Problem(key, _NESTED)
                continue
            items = (value.items() if isinstance(value, Mapping)
                     else ((f"[{i}]", v) for i, v in enumerate(value)))
            children = [(_join(key, k), v, depth + 1) for k, v in items]
            stack.extend(reversed(children))
            continue
        message = _value_problem(value)
        if message is not None:
            yield Problem(key, message)


def text_key_problems(data: Mapping[Any, Any], path: str = "") -> Iterator[Problem]:
    """Every key of ``data`` (nested mappings and lists too, down to ``MAX_DEPTH``, where
    ``value_problems`` stops) that is not a string."""
    stack: list[tuple[str, Any, int]] = [(path, data, 0)]
    while stack:
        where, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            continue
        if isinstance(value, Mapping):
            for key, child in value.items():
                name = key if isinstance(key, str) else repr(key)
                here = f"{where}.{name}" if where else name
                if not isinstance(key, str):
                    yield Problem(here, f"the key {key!r} is a {type(key).__name__} "
                                        "(expected a text key, as in a campaign file)")
                else:
                    stack.append((here, child, depth + 1))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", child, depth + 1) for i, child in enumerate(value))


def _join(key: str, child: str) -> str:
    return f"{key}{child}" if child.startswith("[") else f"{key}.{child}"


def _value_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return f"{value} does not fit a 64-bit integer (expected {INT64_MIN:,} … {INT64_MAX:,})"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, dt.date):  # dt.datetime too
        return year_problem(value.isoformat(), value.year)
    return None
