"""The daily team leaderboard: computed from ``KpiData``, rendered for Zalo, CSV and .xlsx.

``leaderboard(data, period, day)`` counts the metric's sign-ups per team from the
period's start to ``day`` (cumulative) and on ``day``; ranks teams by the cumulative
count (ties share a rank: 1, 2, 2, 4; equal teams listed by code) and compares with the
ranks of the day before.  Sign-ups no team is credited with are counted apart, never
ranked.
"""

from __future__ import annotations

import csv
import io
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pendulum

from ..campaign import Period
from ..outputs import atomic_bytes_output, atomic_output
from .data import KpiData
from .result import Leaderboard, LeaderboardRow

__all__ = [
    "ZALO_LIMIT",
    "leaderboard",
    "leaderboard_csv",
    "metric_kinds",
    "write_leaderboard_csv",
    "write_leaderboard_xlsx",
    "zalo_messages",
]

#: a Zalo group message is kept under this many characters
ZALO_LIMIT = 2000
CSV_COLUMNS = ("rank", "rank_change", "team_code", "team_name", "commune_code", "commune_name",
               "district_code", "district_name", "installs_day", "installs")


_TEAM = operator.attrgetter("team_code")
_COMMUNE = operator.attrgetter("commune_code")


def metric_kinds(metric: str) -> tuple[str, ...] | None:
    """The sign-up kinds a metric counts: ``installs`` → ``install``; ``signups`` → all
    (``None``); any other word is a kind name."""
    if metric == "installs":
        return ("install",)
    if metric in ("signups", "all"):
        return None
    return (metric,)


def _ranks(counts: dict[str, int]) -> dict[str, int]:
    ordered = sorted(counts, key=lambda code: (-counts[code], code))
    ranks: dict[str, int] = {}
    for i, code in enumerate(ordered):
        if i and counts[code] == counts[ordered[i - 1]]:
            ranks[code] = ranks[ordered[i - 1]]
        else:
            ranks[code] = i + 1
    return ranks


def leaderboard(data: KpiData, period: Period, day: pendulum.Date, *, metric: str = "installs",
                top_communes: int = 3) -> Leaderboard:
    """The leaderboard of ``day`` (see the module's docstring)."""
    kinds = metric_kinds(metric)
    first, last = period.start.isoformat(), day.isoformat()
    before = day.subtract(days=1).isoformat()
    # Counted with Counter over attribute getters (C loops): this runs at every refresh
    # of the dashboard, over every sign-up of the period.
    counted = [s for s in data.signups if (kinds is None or s.kind in kinds) and first <= s.day <= last]
    on_day = [s for s in counted if s.day == last]
    communes: Counter[str] = Counter(filter(None, map(_COMMUNE, counted)))
    total: Counter[str | None] = Counter(map(_TEAM, counted))
    today: Counter[str | None] = Counter(map(_TEAM, on_day))
    unattributed, unattributed_day = total.pop(None, 0), today.pop(None, 0)
    previous = total - today  # the days before the last one
    teams = data.campaign.teams
    counts = {t.code: total[t.code] for t in teams}
    ranks = _ranks(counts)
    has_previous = before >= first
    previous_ranks = _ranks({t.code: previous[t.code] for t in teams}) if has_previous else {}
    rows = []
    for team in teams:
        district = data.district_of(team.commune_code)
        rows.append(LeaderboardRow(
            team_code=team.code, team_name=team.name, commune_code=team.commune_code,
            commune_name=data.region_name(team.commune_code), district_code=district,
            district_name=data.region_name(district) if district else None,
            installs=counts[team.code], installs_day=today[team.code], rank=ranks[team.code],
            previous_rank=previous_ranks.get(team.code),
        ))
    rows.sort(key=lambda r: (r.rank, r.team_code))
    best = sorted(communes.items(), key=lambda kv: (-kv[1], kv[0]))[:top_communes]
    return Leaderboard(
        day=day, start=period.start, metric=metric, rows=tuple(rows),
        top_communes=tuple((c, data.region_name(c), n) for c, n in best),
        unattributed=unattributed, unattributed_day=unattributed_day,
    )


# --- Zalo text ------------------------------------------------------------------------------

def _n(value: int) -> str:
    """Vietnamese thousands separator: 12.345."""
    return f"{value:,}".replace(",", ".")


def _change(row: LeaderboardRow) -> str:
    change = row.rank_change
    if change is None or change == 0:
        return ""
    return f" ↑{change}" if change > 0 else f" ↓{-change}"


def _team_line(row: LeaderboardRow) -> str:
    return f"{row.rank}. {row.team_name}: {_n(row.installs)} (+{_n(row.installs_day)}){_change(row)}"


def _message(board: Leaderboard, rows: Sequence[LeaderboardRow], title: str, *, top: int,
             with_communes: bool) -> str:
    day = board.day.format("DD/MM/YYYY")
    lines = ["BẢNG XẾP HẠNG TỔ CÔNG NGHỆ SỐ", f"{title} – ngày {day}"]
    day_total = sum(r.installs_day for r in rows)
    total = sum(r.installs for r in rows)
    if with_communes:
        day_total += board.unattributed_day
        total += board.unattributed
    lines.append(f"Lượt cài trong ngày: {_n(day_total)}")
    lines.append(f"Lũy kế từ {board.start.format('DD/MM')}: {_n(total)}")
    lines.append("")
    lines.append(f"Dẫn đầu ({len(rows)} tổ):")
    leaders = [r for r in rows[:top] if r.installs > 0]  # a team with no install leads nothing
    lines.extend(_team_line(r) for r in leaders)
    if not leaders:
        lines.append("Chưa có tổ nào có lượt cài.")
    if with_communes and board.top_communes:
        lines.append("")
        lines.append("Xã, phường dẫn đầu:")
        lines.extend(f"- {name}: {_n(n)}" for _, name, n in board.top_communes)
    idle = [r for r in rows if r.installs_day == 0]
    lines.append("")
    if idle:
        lines.append(f"Chưa có lượt cài hôm nay ({len(idle)} tổ):")
        lines.extend(f"- {r.team_name}" for r in idle)
    else:
        lines.append("Tổ nào cũng có lượt cài hôm nay. Cảm ơn các tổ!")
    return "\n".join(lines)


def zalo_messages(board: Leaderboard, *, province: str = "Tỉnh Lạng Sơn", top: int = 10,
                  limit: int = ZALO_LIMIT) -> list[str]:
    """The leaderboard as Vietnamese text for a Zalo group: one province message when it
    fits in ``limit`` characters, else one message per district (its teams only; a
    district's idle-team list is cut with "… và N tổ khác" to fit)."""
    whole = _message(board, board.rows, province, top=top, with_communes=True)
    if len(whole) < limit:
        return [whole]
    by_district: dict[str, list[LeaderboardRow]] = {}
    for row in board.rows:
        by_district.setdefault(row.district_name or "Chưa rõ huyện", []).append(row)
    messages = []
    for name, rows in by_district.items():
        messages.append(_fit(board, rows, name, top=top, limit=limit))
    return messages


def _fit(board: Leaderboard, rows: Sequence[LeaderboardRow], name: str, *, top: int, limit: int) -> str:
    """The district's message, shortened until under ``limit``: fewer idle teams named
    (the rest as "… và N tổ khác"), then fewer top teams; last resort, cut at a line."""
    idle_count = sum(1 for r in rows if r.installs_day == 0)
    for keep_top in range(min(top, len(rows)), 0, -1):
        for keep_idle in range(idle_count, -1, -1):
            text = _shortened(board, rows, name, top=keep_top, keep_idle=keep_idle)
            if len(text) < limit:
                return text
    lines = _shortened(board, rows, name, top=1, keep_idle=0).split("\n")
    while lines and len("\n".join(lines)) >= limit:
        lines.pop()
    return "\n".join(lines)


def _shortened(board: Leaderboard, rows: Sequence[LeaderboardRow], name: str, *, top: int,
               keep_idle: int) -> str:
    lines = _message(board, rows, name, top=top, with_communes=False).split("\n")
    marker = next((i for i, line in enumerate(lines) if line.startswith("Chưa có lượt cài")), None)
    if marker is None:
        return "\n".join(lines)
    idle = lines[marker + 1:]
    if len(idle) > keep_idle:
        idle = [*idle[:keep_idle], f"… và {len(idle) - keep_idle} tổ khác"]
    return "\n".join([*lines[:marker + 1], *idle])


# --- CSV and xlsx ----------------------------------------------------------------------------

def _records(board: Leaderboard) -> Iterable[list[object]]:
    for r in board.rows:
        yield [r.rank, "" if r.rank_change is None else r.rank_change, r.team_code, r.team_name,
               r.commune_code, r.commune_name, r.district_code or "", r.district_name or "",
               r.installs_day, r.installs]


def leaderboard_csv(board: Leaderboard) -> str:
    """The leaderboard as CSV text (header ``CSV_COLUMNS``; no BOM — the writer adds it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_records(board))
    return buffer.getvalue()


def write_leaderboard_csv(board: Leaderboard, path: Path) -> Path:
    """Write the CSV, UTF-8 with a BOM (so Excel shows Vietnamese), by temp file and rename."""
    with atomic_output(path) as handle:
        handle.write("\ufeff" + leaderboard_csv(board))
    return path


def write_leaderboard_xlsx(board: Leaderboard, path: Path) -> Path:
    """Write the leaderboard as an .xlsx workbook (one sheet, the CSV's columns)."""
    import xlsxwriter

    with atomic_bytes_output(path) as handle:
        # strings stay text: a name starting with "=" is no formula (nor a link, nor a number)
        workbook = xlsxwriter.Workbook(handle, {"in_memory": True, "strings_to_formulas": False,
                                                "strings_to_urls": False})
        sheet = workbook.add_worksheet(f"BXH {board.day.format('DD-MM-YYYY')}")
        bold = workbook.add_format({"bold": True})
        sheet.write_row(0, 0, CSV_COLUMNS, bold)
        for i, record in enumerate(_records(board), start=1):
            sheet.write_row(i, 0, record)
        sheet.set_column(3, 3, 36)
        sheet.set_column(5, 5, 24)
        workbook.close()
    return path
