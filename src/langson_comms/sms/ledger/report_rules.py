"""Which stored delivery reports finish which accepted rows: the rule both ledgers apply.

``decide_reports`` takes the accepted rows joined with the stored reports that may be
theirs and returns the rows' new states and the reports applied; the SQLite and the
PostgreSQL ledgers query and write, this decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class _ReportRow(NamedTuple):
    """An accepted row joined with one stored report that may be its (``_resolve``)."""

    row_id: int
    segments: int | None
    carrier_id: str
    gateway: str
    part: int
    parts: int | None
    status: str
    error: str | None


def decide_reports(rows: Sequence[_ReportRow], now: float) -> tuple[
        list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``(updates, applied)``: ``(state, reason, final_at, row id)`` per row finished, and
    ``(row id, carrier id, gateway, part)`` per stored report applied to it."""
    # A report whose gateway is not known ('') and that fits rows of several
    # gateways is applied to none of them (it waits for a report naming its
    # gateway); for a part that has a report naming the row's gateway, '' reports
    # are left out (and marked applied with it, so they never go elsewhere).
    fits: dict[tuple[str, int], set[int]] = {}
    named = {(r.row_id, r.part) for r in rows if r.gateway != ""}
    for r in rows:
        if r.gateway == "":
            fits.setdefault((r.carrier_id, r.part), set()).add(r.row_id)
    by_row: dict[int, list[_ReportRow]] = {}
    unknown: dict[int, list[_ReportRow]] = {}
    for r in rows:
        if r.gateway != "" or ((r.row_id, r.part) not in named
                               and len(fits[(r.carrier_id, r.part)]) == 1):
            by_row.setdefault(r.row_id, []).append(r)
        elif (r.row_id, r.part) in named:
            unknown.setdefault(r.row_id, []).append(r)
    updates: list[tuple[Any, ...]] = []
    applied: list[tuple[Any, ...]] = []
    for row_id, parts in by_row.items():
        totals = [p.parts for p in parts if p.parts]
        if totals:
            expected = max(totals)
        elif all(p.part == 1 for p in parts):
            expected = 1  # one report for the whole message (no part fields)
        else:
            expected = parts[0].segments or 1
        bad = sorted((p for p in parts if p.status != "delivered"), key=lambda p: p.part)
        if bad:
            worst = bad[0]  # the first part that did not arrive
            reason = f"carrier report: {worst.status}" + (
                f" ({worst.error})" if worst.error else "")
            state = "expired" if worst.status == "expired" else "failed"
            updates.append((state, reason, now, row_id))
        elif len({p.part for p in parts}) >= expected:
            updates.append(("delivered", None, now, row_id))
        else:
            continue
        applied.extend((row_id, p.carrier_id, p.gateway, p.part)
                       for p in parts + unknown.get(row_id, []))
    return updates, applied
