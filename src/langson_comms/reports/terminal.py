"""The report as terminal tables (rich): the whole campaign's summary, or an office's
sections (the same sections as every format)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.table import Table as RichTable
from rich.text import Text

from ..kpi import Measurement
from .sections import sections
from .views import View

__all__ = ["print_report", "print_summary"]


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    return f"{value:,.0f}"


def print_summary(measurement: Measurement, console: Console) -> None:
    """The whole campaign as terminal tables (rich): KPIs, methods, attribution,
    compliance, the leaderboard, notes."""
    m = measurement
    console.print(f"[bold]{escape(m.campaign_title)}[/bold] — {m.period_start} to {m.period_end} "
                  f"(as of {m.as_of})", highlight=False)
    # names may fold onto more lines; figures never wrap nor lose digits to an ellipsis
    table = Table(Column("target", overflow="fold"), Column("kind", overflow="fold"),
                  *(Column(name, no_wrap=True, overflow="ignore")
                    for name in ("value", "target", "progress", "pace", "forecast")),
                  title="KPIs")
    for key, r in m.kpis.items():
        pace = forecast = "—"
        if r.pacing is not None:
            pace = "—" if r.pacing.ratio is None else f"{r.pacing.ratio:.0%}"
            forecast = _figure(r.pacing.forecast, r.unit)
        progress = "—" if r.progress is None else f"{r.progress:.1%}"
        value = "no data yet" if r.no_data else _figure(r.value, r.unit)
        table.add_row(Text(key), Text(r.kind), value, _figure(r.target, r.unit), progress, pace, forecast)
    console.print(table)
    for key, r in m.kpis.items():
        console.print(f"{key}: {r.method}", highlight=False, markup=False)
        if r.no_data:
            console.print(f"{key}: no data yet: {r.no_data}", highlight=False, markup=False)
    if m.attribution is not None:
        a = m.attribution
        sms = (f"{a.reached_by_sms:,} reached by SMS within {a.window_days} days"
               if a.sms_matched else f"SMS match not made ({a.note})")
        rules = ", ".join(f"{k} {v:,}" for k, v in a.by_rule.items())
        console.print(f"attribution: {a.installs:,} installs; " + (f"{rules}; " if rules else "") + sms,
                      highlight=False, markup=False)
    if m.compliance is not None:
        c = m.compliance
        parts = []
        if c.press_weeks_missed is not None:
            parts.append(f"press weeks missed {c.press_weeks_missed}")
        if c.social_days_without_post is not None:
            parts.append(f"social days without a post {c.social_days_without_post}")
        if c.outreach_days_without_report is not None:
            parts.append(f"outreach days without a report {c.outreach_days_without_report}")
        if c.sms_delivery_rate is not None:
            parts.append(f"SMS delivery rate {c.sms_delivery_rate:.1%}")
        if c.broadcast_total is not None:
            t = c.broadcast_total
            due = t["planned"] - (t.get("pending") or 0)  # the airings whose time has come
            parts.append(f"loudspeaker airings aired {t['aired']:,} of {due:,} due by {m.as_of} "
                         f"({t['missed']:,} missed; {t['planned']:,} planned in all)")
        if parts:
            console.print("compliance: " + "; ".join(parts), highlight=False, markup=False)
    if m.leaderboard is not None and m.leaderboard.total == 0:
        console.print(f"Leaderboard {m.leaderboard.day}: no install yet, no team ranked", highlight=False)
    elif m.leaderboard is not None:
        board = Table("rank", "±", "team", "commune", "day", "total", title=f"Leaderboard {m.leaderboard.day}")
        for row in m.leaderboard.rows:
            change = "" if not row.rank_change else f"{row.rank_change:+d}"
            board.add_row(str(row.rank), change, Text(row.team_name), Text(row.commune_name),
                          f"{row.installs_day:,}", f"{row.installs:,}")
        console.print(board)
    for note in (*m.notes, *(f"{key}: {n}" for key, r in m.kpis.items() for n in r.notes)):
        console.print(f"note: {note}", highlight=False, markup=False)


def print_report(measurement: Measurement, console: Console, view: View | None = None) -> None:
    """Print the report (for ``view``) to ``console`` as rich tables: the whole campaign
    as ``print_summary``, an office's view as its sections."""
    view = View() if view is None else view
    if view.office is None:
        print_summary(measurement, console)
        return
    m = measurement
    console.print(f"[bold]{escape(m.campaign_title)}[/bold] — {view.title} — {m.period_start} to {m.period_end} "
                  f"(as of {m.as_of})", highlight=False)
    for section in sections(m, view):
        console.rule(Text(section.title))
        for table in section.tables:
            rich = RichTable(*table.columns, title=Text(table.title))
            for row in table.rows:
                rich.add_row(*(Text("—" if c is None else str(c)) for c in row))  # data, not markup
            console.print(rich)
        for paragraph in section.paragraphs:
            console.print(paragraph, highlight=False, markup=False)
