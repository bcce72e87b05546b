"""Reading our small CSV files through the project's one tabular reader.

``langson_comms.tabular`` does the reading (encodings, delimiter, ``#`` comment lines,
blank lines, quotes, physical line numbers, ``.xlsx``); this adds the broadcast files'
rule for rows it rejects: either the first raises, or — when the caller passes a
``problems`` list — each is added there and reading goes on, so a file's problems can
be reported all together (``DataErrors``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pendulum

from ..errors import DataError, DataErrors
from ..tabular import RejectedRow, read_table

__all__ = ["parse_date", "raise_problems", "read_rows"]


def read_rows(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    problems: list[DataError] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` for each usable data row; raise ``DataError`` on a bad header.

    A rejected row (wrong number of cells, unclosed quote, undecodable bytes …) raises
    its located ``DataError`` — or, with ``problems`` given, is appended there.
    """
    table = read_table(path, required=required, optional=optional, source=str(path))
    for item in table:
        if isinstance(item, RejectedRow):
            error = item.error(table.source)
            if problems is None:
                raise error
            problems.append(error)
            continue
        yield item.line, item.values


def raise_problems(problems: Sequence[DataError]) -> None:
    """Raise every collected problem of one file together (one alone as itself)."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DataErrors(sorted(problems, key=lambda e: e.line or 0))


def parse_date(text: str) -> pendulum.Date:
    """``2022-09-01`` (ISO) or the Vietnamese ``01/09/2022`` (day first) → ``pendulum.Date``."""
    value = text.strip()
    try:
        if "/" in value:
            day, month, year = (int(p) for p in value.split("/"))
            parsed = dt.date(year, month, day)
        else:
            parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)") from None
    return pendulum.Date(parsed.year, parsed.month, parsed.day)
