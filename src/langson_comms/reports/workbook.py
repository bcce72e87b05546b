"""The report as an .xlsx workbook for the offices that work in Excel: a summary sheet,
then one sheet per KPI (its figures, pacing, method and every breakdown), the
leaderboard, and a sheet per further section's tables (xlsxwriter)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

from ..kpi import KpiResult, Measurement
from ..outputs import atomic_bytes_output
from .sections import sections
from .views import View

__all__ = ["write_report_xlsx"]


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "sheet"
    candidate, i = base, 2
    while candidate.lower() in used:
        suffix = f" ({i})"
        candidate, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(candidate.lower())
    return candidate


def _kpi_sheet(book: Any, name: str, r: KpiResult, bold: Any) -> None:
    ws = book.add_worksheet(name)
    rows: list[tuple[str, Any]] = [("chỉ tiêu", r.key), ("loại", r.kind),
                                   ("giá trị", f"chưa có số liệu: {r.no_data}" if r.no_data else r.value),
                                   ("mục tiêu", r.target), ("tiến độ", r.progress), ("đơn vị", r.unit),
                                   ("cách tính", r.method)]
    if r.pacing is not None:
        p = r.pacing
        rows += [("tỷ lệ thời gian đã qua", p.elapsed_share), ("kỳ vọng đến nay", p.expected),
                 ("so với nhịp", p.ratio), ("dự báo cuối kỳ", p.forecast), ("cách dự báo", p.forecast_method),
                 ("đúng tiến độ", p.on_track)]
    rows += [(f"ghi chú {i + 1}", note) for i, note in enumerate(r.notes)]
    for i, (label, value) in enumerate(rows):
        ws.write(i, 0, label, bold)
        ws.write(i, 1, value)
    col = 3
    for dimension, values in r.breakdowns.items():
        ws.write(0, col, dimension, bold)
        ws.write(0, col + 1, "giá trị", bold)
        for j, (k, v) in enumerate(values.items(), start=1):
            ws.write(j, col, k)
            ws.write(j, col + 1, v)
        col += 3
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 40)


def _write(handle: IO[bytes], measurement: Measurement, view: View) -> None:
    import xlsxwriter  # imported when a workbook is written, not with every command

    # strings stay text: a name starting with "=" is no formula (nor a link)
    book = xlsxwriter.Workbook(handle, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    used: set[str] = set()
    summary = book.add_worksheet(_sheet_name("Tổng hợp", used))
    summary.write_row(0, 0, ["chỉ tiêu", "loại", "giá trị", "mục tiêu", "tiến độ", "cách tính"], bold)
    for i, (key, r) in enumerate(measurement.kpis.items(), start=1):
        summary.write_row(i, 0, [key, r.kind, "chưa có số liệu" if r.no_data else r.value, r.target,
                                 r.progress, r.method])
    summary.write(len(measurement.kpis) + 2, 0,
                  f"{measurement.campaign_title} — {view.title}: {measurement.period_start} … {measurement.as_of}")
    for key, r in measurement.kpis.items():
        _kpi_sheet(book, _sheet_name(key, used), r, bold)
    for section in sections(measurement, view):
        if section.key == "kpis":
            continue
        for table in section.tables:
            ws = book.add_worksheet(_sheet_name(table.title, used))
            ws.write_row(0, 0, list(table.columns), bold)
            for i, row in enumerate(table.rows, start=1):
                ws.write_row(i, 0, ["" if c is None else c for c in row])
    book.close()


def write_report_xlsx(measurement: Measurement, path: Path, view: View | None = None) -> Path:
    """Write the workbook to ``path`` atomically (temp file + rename)."""
    with atomic_bytes_output(path) as handle:
        _write(handle, measurement, View() if view is None else view)
    return path
