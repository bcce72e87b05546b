"""The report as one self-contained HTML file: Vietnamese, inline CSS (printable), charts
as inline SVG — nothing is fetched when it is viewed.

``report_body(measurement, view)`` is the report's ``<main>`` fragment (the live
dashboard swaps it in place); ``report_html(measurement, view)`` the whole page.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

import attrs

from ..kpi import Measurement
from .charts import chart_svg
from .sections import Cell, Section, Table, sections
from .views import View

__all__ = ["CSS", "page", "report_body", "report_html"]

CSS = """
body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; margin: 1.5rem auto; max-width: 60rem;
       color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; border-bottom: 2px solid #1f5fa8;
     margin-top: 2rem; } .meta { color: #555; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
caption { text-align: left; font-weight: bold; padding: .2rem 0; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } th { background: #eef3fa; }
figure { margin: .5rem 0 1rem; } figure svg { max-width: 100%; height: auto; }
#live { color: #2e8b57; font-size: .85rem; }
@media print { body { margin: 0; max-width: none; font-size: 10pt; } h2 { break-after: avoid; }
  table, figure { break-inside: avoid; } #live { display: none; } @page { size: A4; margin: 15mm; } }
"""


def _cell(value: Cell) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = f"{value:,.0f}".replace(",", ".") if float(value).is_integer() else f"{value:.2f}"
        return f'<td class="n">{text}</td>'
    return f"<td>{escape('—' if value is None else str(value))}</td>"


def _table(table: Table) -> str:
    if not table.rows:
        return f'<p class="empty"><b>{escape(table.title)}</b>: chưa có số liệu</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = []
    for i, row in enumerate(table.rows):
        row_id = f' id="{escape(table.row_ids[i])}"' if i < len(table.row_ids) else ""
        rows.append(f"<tr{row_id}>" + "".join(_cell(c) for c in row) + "</tr>")
    return (f"<table><caption>{escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


Chart = Callable[[str, Measurement, View], "str | None"]


def _section(section: Section, measurement: Measurement, view: View, chart: Chart) -> str:
    parts = [f'<section id="{escape(section.key)}"><h2>{escape(section.title)}</h2>']
    for key in section.charts:
        svg = chart(key, measurement, view)
        if svg is not None:
            parts.append(f'<figure class="chart" data-chart="{escape(key)}">{svg}</figure>')
    parts += [_table(t) for t in section.tables]
    if section.paragraphs:
        parts.append("<ul>" + "".join(f"<li>{escape(p)}</li>" for p in section.paragraphs) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def report_body(measurement: Measurement, view: View | None = None, *, chart: Chart = chart_svg) -> str:
    """The report's ``<main id="report">`` element (charts drawn once per chart key, by
    ``chart``: ``chart_svg``, or a ``ChartCache``)."""
    view = View() if view is None else view
    m = measurement
    seen: set[str] = set()
    parts = [f'<main id="report" data-as-of="{m.as_of.isoformat()}">',
             f"<h1>{escape(m.campaign_title)}</h1>",
             f'<p class="meta">Báo cáo {escape(view.title)}: {m.period_start.format("DD/MM/YYYY")} – '
             f'{m.period_end.format("DD/MM/YYYY")}, số liệu đến hết ngày {m.as_of.format("DD/MM/YYYY")} '
             f'(đo lúc <time id="measured-at">{escape(m.measured_at.isoformat())}</time>).</p>']
    for section in sections(m, view):
        charts = tuple(k for k in section.charts if k not in seen)
        seen.update(charts)
        parts.append(_section(attrs.evolve(section, charts=charts), m, view, chart))
    parts.append("</main>")
    return "\n".join(parts)


def page(title: str, body: str, script: str = "") -> str:
    """A whole HTML page around ``body`` (inline CSS; ``script`` inline, if any)."""
    tail = f"<script>{script}</script>" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n{body}\n{tail}</body></html>\n")


def report_html(measurement: Measurement, view: View | None = None) -> str:
    """The whole report (for ``view``) as one self-contained HTML page."""
    view = View() if view is None else view
    return page(f"{measurement.campaign_title} — {view.title}", report_body(measurement, view))
