"""The report as Markdown: the sections' paragraphs and tables (charts are in the HTML
report; the Markdown names them)."""

from __future__ import annotations

from ..kpi import Measurement
from .sections import Cell, Section, Table, sections
from .views import View

__all__ = ["report_markdown"]


def _cell(value: Cell) -> str:
    text = "—" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> list[str]:
    lines = [f"**{table.title}**", "", "| " + " | ".join(_cell(c) for c in table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    if not table.rows:
        lines = [f"**{table.title}**: chưa có số liệu"]
    return [*lines, ""]


def _section(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    for table in section.tables:
        lines += _table(table)
    for paragraph in section.paragraphs:
        lines += [f"- {paragraph}"]
    if section.paragraphs:
        lines.append("")
    return lines


def report_markdown(measurement: Measurement, view: View | None = None) -> str:
    """The report (for ``view``) as Markdown text."""
    view = View() if view is None else view
    m = measurement
    lines = [f"# {m.campaign_title}", "",
             f"Báo cáo {view.title}: {m.period_start.format('DD/MM/YYYY')} – {m.period_end.format('DD/MM/YYYY')}, "
             f"số liệu đến hết ngày {m.as_of.format('DD/MM/YYYY')} (đo lúc {m.measured_at.isoformat()}).", ""]
    for section in sections(m, view):
        lines += _section(section)
    return "\n".join(lines).rstrip("\n") + "\n"
