"""The report as a document: sections of paragraphs, tables and charts, read from one
``Measurement`` (never recomputed: every figure is one the measurement holds).

Markdown, HTML, the terminal and the .xlsx workbook render the same ``Section`` list, so
a figure is the same in every format.  ``sections(measurement, view)`` keeps the
sections the view's office reads (``views.py``), and a district view only its
district's rows.  Headings and labels are Vietnamese.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..kpi import KpiResult, Measurement
from .views import View

__all__ = ["Cell", "Section", "Table", "number", "percent", "sections"]

Cell = str | int | float | None

PRESS = "press"
DT = "digital-transformation"
TECH = "technology-centre"
DISTRICT = "district"

UNITS = {"reaches": "lượt", "installs": "lượt cài", "percent": "%", "teams": "tổ"}


def number(value: float | None) -> str:
    """Vietnamese thousands: ``12.345``; ``—`` for none."""
    if value is None:
        return "—"
    return f"{value:,.0f}".replace(",", ".")


def percent(value: float | None, digits: int = 1) -> str:
    """``0.1234`` → ``12,3 %``; ``—`` for none."""
    if value is None:
        return "—"
    return f"{100 * value:.{digits}f} %".replace(".", ",")


@attrs.frozen
class Table:
    """Columns and rows of cells; ``row_ids`` (optional) name rows for the HTML views."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    row_ids: tuple[str, ...] = ()


@attrs.frozen
class Section:
    """One part of the report; ``charts`` are chart keys (``charts.py``) drawn by the
    formats that show pictures."""

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    charts: tuple[str, ...] = ()


def _kind(m: Measurement, kind: str) -> KpiResult | None:
    return next((r for r in m.kpis.values() if r.kind == kind), None)


#: what a KPI with nothing to measure yet shows instead of its value (``KpiResult.no_data``)
NO_DATA = "chưa có số liệu"


def _value(r: KpiResult, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} %".replace(".", ",") if r.unit == "percent" else number(value)


def _kpis(m: Measurement, view: View) -> Section:
    rows: list[tuple[Cell, ...]] = []
    ids: list[str] = []
    for key, r in m.kpis.items():
        pace = forecast = "—"
        if r.pacing is not None:
            pace = percent(r.pacing.ratio, 0)
            forecast = _value(r, r.pacing.forecast) + (" ✓" if r.pacing.on_track else " ✗")
        value = NO_DATA if r.no_data else _value(r, r.value)
        rows.append((key, r.kind, value, _value(r, r.target), percent(r.progress), pace, forecast))
        ids.append(f"kpi-{key}")
    methods = tuple(f"{key}: {r.method}" + (f" — {NO_DATA}: {r.no_data}" if r.no_data else "")
                    for key, r in m.kpis.items())
    return Section("kpis", "Chỉ tiêu", paragraphs=methods, tables=(Table(
        "Chỉ tiêu và tiến độ", ("chỉ tiêu", "loại", "giá trị", "mục tiêu", "tiến độ",
                                "so với nhịp kế hoạch", "dự báo cuối kỳ"), tuple(rows), tuple(ids)),),
        charts=("reach_cumulative", "installs_per_day"))


def _reach(m: Measurement, view: View) -> Section | None:
    r = _kind(m, "reach")
    if r is None:
        return None
    by_channel = r.breakdowns.get("channel", {})
    methods: Mapping[str, Any] = r.details.get("methods", {}) or {}
    if view.office == PRESS:
        by_channel = {k: v for k, v in by_channel.items() if k == "press"}
    ordered = sorted(by_channel.items(), key=lambda kv: -kv[1])
    rows = tuple((ch, number(v), str(methods.get(ch, ""))) for ch, v in ordered)
    tables = [Table("Lượt tiếp cận theo kênh", ("kênh", "lượt tiếp cận", "cách tính"), rows)]
    if view.district is not None:
        value = r.breakdowns.get("district", {}).get(view.district)
        tables = [Table("Lượt tiếp cận của huyện", ("huyện", "lượt tiếp cận"), ((view.district, number(value or 0)),))]
    return Section("reach", "Lượt tiếp cận", tables=tuple(tables),
                   charts=() if view.district is not None else ("reach_by_channel",))


def _conversion(m: Measurement, view: View) -> Section | None:
    r = _kind(m, "conversion")
    if r is None:
        return None
    paragraphs = [f"{NO_DATA} ({r.no_data}) / mục tiêu {number(r.target)}" if r.no_data else
                  f"{number(r.value)} lượt cài / mục tiêu {number(r.target)} ({percent(r.progress)})"]
    per = r.details.get("reaches_per_install")
    if isinstance(per, int | float):
        paragraphs.append(f"{number(per)} lượt tiếp cận cho mỗi lượt cài")
    tables = []
    if view.district is not None:
        value = r.breakdowns.get("district", {}).get(view.district, 0)
        paragraphs = [f"Huyện {view.district}: {number(value)} lượt cài"]
    else:
        platforms = r.breakdowns.get("platform", {})
        tables.append(Table("Lượt cài theo nền tảng", ("nền tảng", "lượt cài"),
                            tuple((p, number(v)) for p, v in sorted(platforms.items()))))
        kinds = r.details.get("by_platform_kind")
        if isinstance(kinds, Mapping):
            tables.append(Table("Đăng ký theo loại và nền tảng", ("nền tảng", "loại", "số"), tuple(
                (p, k, number(n)) for p, per_kind in sorted(kinds.items()) if isinstance(per_kind, Mapping)
                for k, n in sorted(per_kind.items()))))
    return Section("conversion", "Cài đặt ứng dụng", paragraphs=tuple(paragraphs), tables=tuple(tables),
                   charts=("installs_per_day",))


def _coverage_training(m: Measurement, view: View) -> Section | None:
    rows: list[tuple[Cell, ...]] = []
    paragraphs: list[str] = []
    for kind in ("coverage", "team_training"):
        r = _kind(m, kind)
        if r is not None:
            rows.append((r.key, NO_DATA if r.no_data else _value(r, r.value), _value(r, r.target)))
            paragraphs.append(f"{r.key}: {r.method}")
            paragraphs.extend(f"{r.key}: {note}" for note in r.notes)
    if not rows:
        return None
    return Section("people", "Người dân được tiếp cận và tập huấn tổ",
                   paragraphs=tuple(paragraphs),
                   tables=(Table("Bao phủ và tập huấn", ("chỉ tiêu", "giá trị", "mục tiêu"), tuple(rows)),))


def _leaderboard(m: Measurement, view: View) -> Section | None:
    board = m.leaderboard
    if board is None:
        return None
    if board.total == 0:  # every team 1st with 0 is no ranking
        return Section("leaderboard", "Bảng xếp hạng tổ công nghệ số",
                       paragraphs=("Chưa có lượt cài nào: chưa xếp hạng tổ.",))
    rows = [row for row in board.rows if view.district is None or row.district_code == view.district]
    table = Table(
        f"Bảng xếp hạng tổ ngày {board.day.format('DD/MM/YYYY')}",
        ("hạng", "thay đổi", "tổ", "xã", "huyện", "trong ngày", "cộng dồn"),
        tuple((r.rank, "" if not r.rank_change else f"{r.rank_change:+d}", r.team_name, r.commune_name,
               r.district_name or "", r.installs_day, r.installs) for r in rows),
        tuple(f"team-{r.team_code}" for r in rows))
    idle = [r.team_name for r in rows if r.installs_day == 0]
    paragraphs = (f"Trong ngày: {number(sum(r.installs_day for r in rows))} lượt cài; "
                  f"cộng dồn: {number(sum(r.installs for r in rows))}"
                  + ("" if view.district is not None else f" (chưa gán tổ: {number(board.unattributed)})"),
                  f"Tổ chưa có lượt cài trong ngày: {len(idle)}")
    tables = [table]
    if view.district is None and board.top_communes:
        tables.append(Table("Xã dẫn đầu", ("mã xã", "xã", "lượt cài"),
                            tuple((c, n, i) for c, n, i in board.top_communes)))
    return Section("leaderboard", "Bảng xếp hạng tổ công nghệ số", paragraphs=paragraphs,
                   tables=tuple(tables), charts=("leaderboard",))


def _attribution(m: Measurement, view: View) -> Section | None:
    a = m.attribution
    if a is None:
        return None
    rows: list[tuple[Cell, ...]] = [("lượt cài", a.installs), ("có số điện thoại", a.with_phone)]
    rows += [(f"gán theo {rule}", n) for rule, n in sorted(a.by_rule.items())]
    rows.append((f"đã nhận SMS trong {a.window_days} ngày trước", a.reached_by_sms if a.sms_matched else "—"))
    rows += [(f"kênh trước đó: {ch}", n) for ch, n in sorted(a.preceding_channels.items())]
    return Section("attribution", "Quy kết lượt cài", paragraphs=(a.note,) if a.note else (),
                   tables=(Table("Quy kết", ("", "số"), tuple(rows)),))


def _compliance(m: Measurement, view: View) -> Section | None:
    c = m.compliance
    if c is None:
        return None
    lines: list[tuple[Cell, ...]] = []
    if view.office in (None, PRESS, DT) and c.press_weeks_missed is not None:
        lines.append(("tuần báo chí chưa đạt", c.press_weeks_missed))
    if view.office in (None, DT) and c.social_days_without_post is not None:
        lines.append(("ngày không có bài mạng xã hội", c.social_days_without_post))
    if view.office in (None, DT, DISTRICT) and c.outreach_days_without_report is not None:
        lines.append(("ngày tổ không báo cáo", c.outreach_days_without_report))
    if view.office in (None, DT, TECH) and c.sms_delivery_rate is not None:
        lines.append(("tỷ lệ SMS đến máy", percent(c.sms_delivery_rate)))
    tables = [Table("Tuân thủ nhịp độ", ("", "giá trị"), tuple(lines))] if lines else []
    charts: list[str] = []
    if view.office in (None, DT, DISTRICT) and c.broadcast_by_district:
        districts = {k: v for k, v in c.broadcast_by_district.items()
                     if view.district is None or k == view.district}
        tables.append(Table("Phát thanh loa: đã phát so với kế hoạch theo huyện",
                            ("huyện", "kế hoạch", "đã phát", "đúng giờ", "trễ", "bỏ lỡ", "chờ", "tỷ lệ"),
                            tuple((d, v.get("planned"), v.get("aired"), v.get("on_time"), v.get("late"),
                                   v.get("missed"), v.get("pending"),
                                   percent(v.get("rate")) if isinstance(v.get("rate"), int | float) else "—")
                                  for d, v in sorted(districts.items()))))
        charts.append("broadcast_by_district")
    if view.office in (None, PRESS) and "press" in c.cadence_gaps:
        gaps = c.cadence_gaps["press"]
        tables.append(Table("Tuần báo chí chưa đủ tin bài", ("từ", "đến", "nhóm", "cần", "có"),
                            tuple((g.get("from"), g.get("to"), g.get("group") or "toàn kênh", g.get("expected"),
                                   g.get("found"))
                                  for g in sorted(gaps, key=_gap_order))))
        charts.append("press_weeks")
    if not tables:
        return None
    return Section("compliance", "Nhịp độ và tuân thủ", tables=tuple(tables), charts=tuple(charts))


def _gap_order(gap: Mapping[str, Any]) -> tuple[str, str]:
    return str(gap.get("group") or ""), str(gap.get("from"))


def _notes(m: Measurement, view: View) -> Section | None:
    notes = [*m.notes, *(f"{key}: {n}" for key, r in m.kpis.items() for n in r.notes)]
    return Section("notes", "Ghi chú", paragraphs=tuple(notes)) if notes else None


#: (builder, the offices that read it)
BUILDERS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_kpis, (DT, TECH)),
    (_reach, (DT, PRESS, DISTRICT)),
    (_conversion, (DT, TECH, DISTRICT)),
    (_coverage_training, (DT, DISTRICT)),
    (_leaderboard, (DT, DISTRICT)),
    (_attribution, (DT, TECH)),
    (_compliance, (DT, PRESS, TECH, DISTRICT)),
    (_notes, (DT, PRESS, TECH, DISTRICT)),
)


def sections(measurement: Measurement, view: View | None = None) -> tuple[Section, ...]:
    """The report's sections for ``view`` (the whole campaign by default)."""
    view = View() if view is None else view
    found = []
    for build, offices in BUILDERS:
        if view.shows(offices):
            section = build(measurement, view)
            if section is not None:
                found.append(section)
    return tuple(found)
