"""Reports: views of the one measured result (``langson_comms.kpi.Measurement``).

Markdown (``report_markdown``), one self-contained HTML file with inline SVG charts
(``report_html``), terminal tables (``print_report``, rich), JSON (``report_json``) and an
.xlsx workbook (``write_report_xlsx``); ``write_reports`` writes a folder of them
atomically.  ``View``/``parse_view`` select an office's part (``--for``); ``Dashboard``
and ``run_dashboard`` serve the report live.  Nothing here measures: every figure is
read from the ``Measurement``.
"""

from __future__ import annotations

from .charts import CHARTS, chart_svg
from .dashboard import Dashboard, run_dashboard
from .files import FORMATS, report_json, report_path, report_text, write_reports
from .html import report_body, report_html
from .markdown import report_markdown
from .sections import Section, Table, sections
from .terminal import print_report
from .views import OFFICES, View, parse_view
from .workbook import write_report_xlsx

__all__ = [
    "CHARTS",
    "FORMATS",
    "OFFICES",
    "Dashboard",
    "Section",
    "Table",
    "View",
    "chart_svg",
    "parse_view",
    "print_report",
    "report_body",
    "report_html",
    "report_json",
    "report_markdown",
    "report_path",
    "report_text",
    "run_dashboard",
    "sections",
    "write_report_xlsx",
    "write_reports",
]
