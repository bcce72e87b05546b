"""The report's charts as inline SVG text, drawn with matplotlib from the ``Measurement``.

``chart_svg(key, measurement, view)`` returns an ``<svg>`` element (no XML prolog, text
kept as text so Vietnamese shows in the browser's fonts, no date in the metadata and a
fixed id salt: the same measurement gives the same bytes) or ``None`` when the
measurement has nothing to draw.  Keys: ``reach_cumulative`` (cumulative reach against
the target line), ``installs_per_day`` (against the target's even pace),
``reach_by_channel``, ``leaderboard`` (top teams), ``broadcast_by_district`` (aired vs
planned) and ``press_weeks`` (weeks meeting the minimum, missed ones red).

matplotlib is used through ``Figure`` objects only (no pyplot, no global state).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pendulum

from ..kpi import KpiResult, Measurement
from .views import View

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CHARTS", "ChartCache", "chart_inputs", "chart_svg"]

RC: dict[str, Any] = {"svg.hashsalt": "langson-comms", "svg.fonttype": "none", "font.size": 9,
      "text.parse_math": False,  # a "$" in a team or channel name is text, not TeX
      "axes.spines.top": False, "axes.spines.right": False}

BLUE, RED, GREEN, GREY = "#1f5fa8", "#c0392b", "#2e8b57", "#888888"


def _figure(**kwargs: Any) -> Figure:
    """A matplotlib ``Figure``; matplotlib is imported on the first chart drawn, not with
    the package (it costs about a second, which every CLI command would otherwise pay)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _kind(m: Measurement, kind: str) -> KpiResult | None:
    return next((r for r in m.kpis.values() if r.kind == kind), None)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _days(m: Measurement) -> list[pendulum.Date]:
    first, last = m.period_start, m.as_of
    return [first.add(days=i) for i in range((last - first).days + 1)]


def _reach_cumulative(m: Measurement, view: View) -> Figure | None:
    r = _kind(m, "reach")
    if r is None or r.no_data:  # nothing measured yet: no flat 0 line
        return None
    by_day = r.breakdowns.get("day", {})
    days = _days(m)
    total, cumulative = 0.0, []
    for d in days:
        total += by_day.get(d.isoformat(), 0.0)
        cumulative.append(total)
    fig = _figure(figsize=(7, 3))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.9)
    ax.plot(range(len(days)), [v / 1e6 for v in cumulative], color=BLUE, label="lượt tiếp cận cộng dồn")
    if r.target:
        ax.axhline(r.target / 1e6, color=RED, linestyle="--", label=f"mục tiêu {r.target / 1e6:,.0f} triệu")
    if r.pacing is not None and r.pacing.target_per_day:
        pace = r.pacing.target_per_day
        offset = r.pacing.expected - pace * len(days)  # the pace line through the expected value
        ax.plot(range(len(days)), [(offset + pace * (i + 1)) / 1e6 for i in range(len(days))],
                color=GREY, linestyle=":", label="nhịp kế hoạch")
    _day_ticks(ax, days)
    ax.set_ylabel("triệu lượt")
    ax.set_title("Lượt tiếp cận cộng dồn so với mục tiêu")
    ax.legend(loc="upper left", frameon=False)
    return fig


def _day_ticks(ax: object, days: list[pendulum.Date]) -> None:
    step = max(1, len(days) // 8)
    ticks = list(range(0, len(days), step))
    ax.set_xticks(ticks, [days[i].format("DD/MM") for i in ticks])  # type: ignore[attr-defined]


def _installs_per_day(m: Measurement, view: View) -> Figure | None:
    r = _kind(m, "conversion")
    if r is None or r.no_data:
        return None
    days = _days(m)
    if view.district is not None:
        return None  # the day breakdown is province-wide
    by_day = r.breakdowns.get("day", {})
    fig = _figure(figsize=(7, 3))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.9)
    # one filled step shape (not a bar per day: one path draws fast for long periods)
    ax.stairs([by_day.get(d.isoformat(), 0) for d in days], [i - 0.5 for i in range(len(days) + 1)],
              fill=True, color=BLUE, label="lượt cài trong ngày")
    if r.pacing is not None and r.pacing.target_per_day:
        ax.axhline(r.pacing.target_per_day, color=RED, linestyle="--",
                   label=f"nhịp mục tiêu {r.pacing.target_per_day:,.0f}/ngày".replace(",", "."))
    _day_ticks(ax, days)
    ax.set_title("Lượt cài mỗi ngày so với nhịp mục tiêu")
    ax.legend(loc="upper left", frameon=False)
    return fig


def _barh(title: str, labels: list[str], values: list[float], colors: list[str] | str = BLUE) -> Figure:
    height = max(1.6, 0.28 * len(labels) + 0.8)
    fig = _figure(figsize=(7, height))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.38, right=0.97, bottom=0.35 / height, top=1 - 0.4 / height)
    ax.barh(range(len(labels)), values, color=colors)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_title(title)
    return fig


def _reach_by_channel(m: Measurement, view: View) -> Figure | None:
    r = _kind(m, "reach")
    channels = {} if r is None else dict(r.breakdowns.get("channel", {}))
    if view.office == "press":
        channels = {k: v for k, v in channels.items() if k == "press"}
    if not channels:
        return None
    ordered = sorted(channels.items(), key=lambda kv: -kv[1])
    return _barh("Lượt tiếp cận theo kênh", [k for k, _ in ordered], [v for _, v in ordered])


def _leaderboard(m: Measurement, view: View) -> Figure | None:
    board = m.leaderboard
    if board is None or board.total == 0:
        return None
    rows = [r for r in board.rows if view.district is None or r.district_code == view.district][:15]
    if not rows:
        return None
    return _barh(f"Tổ dẫn đầu (lượt cài cộng dồn đến {board.day.format('DD/MM')})",
                 [f"{r.rank}. {r.team_name}" for r in rows], [r.installs for r in rows])


def _broadcast_by_district(m: Measurement, view: View) -> Figure | None:
    c = m.compliance
    if c is None or not c.broadcast_by_district:
        return None
    items = sorted((k, v) for k, v in c.broadcast_by_district.items() if view.district is None or k == view.district)
    if not items:
        return None
    fig = _figure(figsize=(7, 3))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.9)
    xs = range(len(items))
    ax.bar([x - 0.2 for x in xs], [float(v.get("planned") or 0) for _, v in items], 0.4, color=GREY, label="kế hoạch")
    ax.bar([x + 0.2 for x in xs], [float(v.get("aired") or 0) for _, v in items], 0.4, color=GREEN, label="đã phát")
    ax.set_xticks(list(xs), [k for k, _ in items], rotation=45, ha="right")
    ax.set_title("Phát thanh loa: đã phát so với kế hoạch theo huyện")
    ax.legend(frameon=False)
    return fig


def _press_weeks(m: Measurement, view: View) -> Figure | None:
    c = m.compliance
    if c is None or "press" not in c.cadence_gaps:
        return None
    # the whole channel's weeks (a gap of one outlet is in the table, not here)
    missed = {str(g.get("from")) for g in c.cadence_gaps["press"] if not g.get("group")}
    start = m.period_start.start_of("week")
    weeks = []
    while start <= m.as_of:
        weeks.append(start)
        start = start.add(weeks=1)
    # a gap starts on its week's Monday, or on the period's first day for a cut week
    flags = [w.isoformat() in missed or (i == 0 and m.period_start.isoformat() in missed) for i, w in enumerate(weeks)]
    fig = _figure(figsize=(7, 1.8))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.03, right=0.98, bottom=0.35, top=0.82)
    ax.bar(range(len(weeks)), [1] * len(weeks), color=[RED if f else GREEN for f in flags])
    ax.set_yticks([])
    ax.set_xticks(range(len(weeks)), [w.format("DD/MM") for w in weeks], rotation=45, ha="right")
    ax.set_title(f"Tuần báo chí: xanh = đạt, đỏ = chưa đạt ({sum(flags)} tuần)")
    return fig


CHARTS: Mapping[str, Callable[[Measurement, View], Figure | None]] = {
    "reach_cumulative": _reach_cumulative,
    "installs_per_day": _installs_per_day,
    "reach_by_channel": _reach_by_channel,
    "leaderboard": _leaderboard,
    "broadcast_by_district": _broadcast_by_district,
    "press_weeks": _press_weeks,
}


def chart_svg(key: str, measurement: Measurement, view: View | None = None) -> str | None:
    """The chart ``key`` as an inline ``<svg>`` element, or ``None`` when there is nothing to draw."""
    import matplotlib

    with matplotlib.rc_context(RC):  # type: ignore[arg-type]
        fig = CHARTS[key](measurement, View() if view is None else view)
        if fig is None:
            return None
        svg = _svg(fig)
    return re.sub(r"\s+$", "", svg)


#: what each chart reads from the measurement (besides its days)
_READS: Mapping[str, Callable[[Measurement], object]] = {
    "reach_cumulative": lambda m: _kind(m, "reach"),
    "installs_per_day": lambda m: _kind(m, "conversion"),
    "reach_by_channel": lambda m: _kind(m, "reach"),
    "leaderboard": lambda m: m.leaderboard,
    "broadcast_by_district": lambda m: m.compliance,
    "press_weeks": lambda m: m.compliance,
}


def chart_inputs(key: str, measurement: Measurement, view: View | None = None) -> str:
    """Everything chart ``key`` is drawn from, as text: equal text, equal chart."""
    m = measurement
    return repr((key, view, m.period_start, m.as_of, _READS[key](m)))


class ChartCache:
    """``chart_svg`` remembering the charts of the last measurement: a chart whose inputs
    did not change is not drawn again (the live dashboard redraws only what moved)."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, str | None]] = {}

    def __call__(self, key: str, measurement: Measurement, view: View | None = None) -> str | None:
        inputs = chart_inputs(key, measurement, view)
        cached = self._last.get(key)
        if cached is not None and cached[0] == inputs:
            return cached[1]
        svg = chart_svg(key, measurement, view)
        self._last[key] = (inputs, svg)
        return svg
