"""Reading our small CSV files: comment lines, physical line numbers, required columns.

The ``csv`` module does the parsing; this adds what our files need on top: lines whose
first cell starts with ``#`` are comments (the sample files say they are samples that
way), blank lines are skipped, and each row comes with its physical line number so
errors can say ``stations.csv:12: listeners``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pendulum

from ..errors import DataError

__all__ = ["parse_date", "read_rows"]


def read_rows(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` for each data row; raise ``DataError`` on a bad header."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise DataError("file not found", source=source) from None
    with handle:
        reader = csv.reader(handle)
        header: list[str] | None = None
        header_line = 0
        for cells in reader:
            line = reader.line_num
            if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_line = line
                missing = [c for c in required if c not in header]
                if missing:
                    raise DataError(
                        f"missing column(s) {', '.join(missing)} (expected {','.join([*required, *optional])})",
                        source=source,
                        line=line,
                    )
                unknown = [c for c in header if c not in required and c not in optional]
                if unknown:
                    raise DataError(
                        f"unknown column(s) {', '.join(unknown)} (expected {','.join([*required, *optional])})",
                        source=source,
                        line=line,
                    )
                continue
            if len(cells) != len(header):
                raise DataError(
                    f"{len(cells)} cells, but the header on line {header_line} has {len(header)}",
                    source=source,
                    line=line,
                )
            yield line, {name: value.strip() for name, value in zip(header, cells, strict=True)}
        if header is None:
            raise DataError(f"no header row (expected {','.join([*required, *optional])})", source=source)


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
