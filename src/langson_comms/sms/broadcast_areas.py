"""Per-area totals of a carrier-run broadcast: what the carrier reports, area by area.

A carrier reports a broadcast's totals for the province and can break them down by area
(it knows in which district or commune each subscriber is billed).  The breakdown comes
as a CSV file, UTF-8 (a BOM is fine), header ``area,subscribers,sent,delivered``:

- ``area`` is the official code of a unit of the campaign's ``[regions]`` valid on the
  campaign's first day — codes, never names, because names and boundaries changed in
  the 2024–2025 reorganisation;
- every row is of one level (all districts or all communes), so no subscriber is
  counted twice, and each area appears once;
- ``0 ≤ delivered ≤ sent ≤ subscribers`` on every row, and the rows add up to at most the
  carrier's totals (the rest is *unattributed*: subscribers the carrier could not place).

Other columns (a ``name`` for people reading the file) are ignored.  The whole file is
checked before anything is stored and every problem is reported with its line and column;
a report is stored whole or not at all, because a partial breakdown would misstate the
districts that are missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import pendulum

from ..errors import DataError, DataErrors
from ..regions import Level, RegionRegistry, canonical_code
from ..tabular import RejectedRow, read_table

__all__ = ["COLUMNS", "AreaTotals", "excess_over_totals", "read_area_totals"]

COLUMNS = ("area", "subscribers", "sent", "delivered")
_COUNTS = COLUMNS[1:]


@attrs.frozen
class AreaTotals:
    """One area's share of a carrier broadcast (``area`` is a canonical unit code)."""

    area: str
    subscribers: int
    sent: int
    delivered: int


def excess_over_totals(
    areas: Sequence[AreaTotals], *, subscribers: int, sent: int, delivered: int
) -> list[tuple[str, str]]:
    """(column, message) for each count whose areas add up to more than the carrier's total."""
    totals = {"subscribers": subscribers, "sent": sent, "delivered": delivered}
    problems = []
    for column, total in totals.items():
        added = sum(getattr(a, column) for a in areas)
        if added > total:
            problems.append((column, f"the areas add up to {added:,} {column}, more than the "
                                     f"carrier's total of {total:,}"))
    return problems


def read_area_totals(
    path: str | Path, regions: RegionRegistry, *, on: pendulum.Date | None = None
) -> list[AreaTotals]:
    """Read and check a breakdown file (see the module docstring); raise ``DataErrors``
    listing every problem, each with the file, line and column."""
    source = str(path)
    checker = _RowChecker(source, regions, on)
    rows: list[AreaTotals] = []
    problems: list[DataError] = []
    with read_table(path, allow_unknown=True, source=source) as table:
        missing = [c for c in COLUMNS if c not in table.header]
        if missing:
            raise DataError(f"missing column(s) {', '.join(missing)} (expected a header "
                            f"{','.join(COLUMNS)})", source=source, line=table.header_line)
        for item in table:
            if isinstance(item, RejectedRow):
                problems.append(item.error(source))
                continue
            row, found = checker.check(item.values, item.line)
            problems.extend(found)
            if row is not None:
                rows.append(row)
    if not rows and not problems:
        problems.append(DataError("no areas in the file", source=source, line=2))
    if problems:
        raise DataErrors(problems)
    return rows


class _RowChecker:
    """Checks rows one by one, remembering the areas seen and the file's level."""

    def __init__(self, source: str, regions: RegionRegistry, on: pendulum.Date | None) -> None:
        self.source, self.regions, self.on = source, regions, on
        self.seen: dict[str, int] = {}
        self.level: tuple[Level, int] | None = None  # the first row's level, and its line

    def check(self, record: Mapping[str, str | None], line: int) -> tuple[AreaTotals | None,
                                                                      list[DataError]]:
        found: list[DataError] = []

        def problem(message: str, column: str, value: object) -> None:
            found.append(DataError(message, source=self.source, line=line, column=column,
                                   value=None if value is None else str(value)))

        raw_area = (record.get("area") or "").strip()
        area = self._area(raw_area, line, problem)
        counts: dict[str, int] = {}
        for column in _COUNTS:
            raw = (record.get(column) or "").strip()
            if raw.isascii() and raw.isdigit():
                counts[column] = int(raw)
            else:
                problem(f"expected a whole number ≥ 0 (digits only), got {raw!r}", column, raw)
        if len(counts) == len(_COUNTS) and not (
            counts["delivered"] <= counts["sent"] <= counts["subscribers"]
        ):
            problem(f"expected delivered ({counts['delivered']:,}) ≤ sent ({counts['sent']:,})"
                    f" ≤ subscribers ({counts['subscribers']:,})", "delivered",
                    counts["delivered"])
        if found or area is None:
            return None, found
        return AreaTotals(area, **counts), found

    def _area(self, raw: str, line: int, problem: Callable[[str, str, object], None]) -> str | None:
        try:
            area = canonical_code(raw)
        except ValueError:
            problem(f"{raw!r} is not a unit code (expected digits)", "area", raw)
            return None
        if area in self.seen:
            problem(f"area {raw} is already on line {self.seen[area]}", "area", raw)
            return None
        self.seen[area] = line
        try:
            unit = self.regions.get(area, self.on)
        except KeyError:
            valid = f" valid on {self.on}" if self.on else ""
            problem(f"{raw} is not a unit of the campaign's regions{valid}", "area", raw)
            return None
        if self.level is None:
            self.level = (unit.level, line)
        elif unit.level is not self.level[0]:
            problem(f"{raw} ({unit.name}) is a {unit.level}, but line {self.level[1]} is a "
                    f"{self.level[0]}: use one level, so nobody is counted twice", "area", raw)
            return None
        return area
