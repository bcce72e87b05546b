"""The report's formats are views of one Measurement: the same figures in each, an
office's part with ``--for``, a self-contained HTML file, one .xlsx sheet per KPI."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from langson_comms.errors import ConfigError
from langson_comms.kpi import Measurement
from langson_comms.reports import (
    CHARTS,
    chart_svg,
    parse_view,
    report_html,
    report_markdown,
    report_text,
    write_report_xlsx,
    write_reports,
)


def test_markdown_has_the_measurements_figures(measurement: Measurement) -> None:
    md = report_markdown(measurement)
    assert md.startswith("# Chiến dịch thử\n")
    assert "| reaches | reach | 700 | 1.000 | 70,0 % |" in md
    assert "| installs | conversion | 4 | 100 | 4,0 % |" in md
    assert "| radio | 400 | airings × listeners |" in md
    assert "| 1 |  | Tổ Xã Một | Xã Một | Huyện Một | 0 | 2 |" in md
    assert "| 21 | 5 | 4 | 3 | 1 | 1 | 0 | 80,0 % |" in md


def test_the_offices_views(measurement: Measurement) -> None:
    press = report_markdown(measurement, parse_view("press"))
    assert "Phòng Báo chí – Xuất bản" in press
    assert "Tuần báo chí chưa đủ tin bài" in press and "| 2022-06-27 | 2022-07-03 | toàn kênh | 2 | 1 |" in press
    assert "Bảng xếp hạng" not in press and "| radio |" not in press
    district = report_markdown(measurement, parse_view("district:22"))
    assert "Tổ Xã Ba" in district and "Tổ Xã Một" not in district
    assert "| 22 | 200 |" in district  # the district's reach
    assert "| 21 | 5 |" not in district and "| 22 | 2 | 2 |" in district
    tech = report_markdown(measurement, parse_view("technology-centre"))
    assert "tỷ lệ SMS đến máy | 75,0 %" in tech and "Quy kết" in tech
    assert "Bảng xếp hạng" not in tech


@pytest.mark.parametrize("text", ["pr", "district:", "district", "everyone"])
def test_an_unknown_office_says_what_is_expected(text: str) -> None:
    with pytest.raises(ConfigError, match="expected"):
        parse_view(text)


def test_html_is_self_contained_vietnamese_printable_with_every_chart(measurement: Measurement) -> None:
    html = report_html(measurement)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="vi">' in html and "@media print" in html
    charts = re.findall(r'data-chart="([a-z_]+)"><svg', html)
    assert sorted(charts) == sorted(CHARTS)
    # nothing fetched at view time: only in-page references (#id), no @import
    assert re.search(r"""href="#""", html)  # the SVGs' own references are there …
    assert not re.search(r"""\b(src|href)\s*=\s*["'](?!#)|url\((?!#)|@import""", html, re.IGNORECASE)
    assert "Tổ Xã Một" in html and "Lượt tiếp cận cộng dồn so với mục tiêu" in html


def test_charts_are_the_same_bytes_for_the_same_measurement(measurement: Measurement) -> None:
    for key in CHARTS:
        first = chart_svg(key, measurement)
        assert first is not None and first.startswith("<svg") and first.endswith("</svg>")
        assert chart_svg(key, measurement) == first


def test_terminal_view(measurement: Measurement) -> None:
    text = report_text(measurement)
    assert "KPIs" in text and "700" in text
    press = report_text(measurement, parse_view("press"))
    assert "Phòng Báo chí – Xuất bản" in press and "Tuần báo chí chưa đủ tin bài" in press


def test_xlsx_one_sheet_per_kpi(measurement: Measurement, tmp_path: Path) -> None:
    path = write_report_xlsx(measurement, tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    names = re.findall(r'<sheet name="([^"]+)"', workbook)
    assert names[:4] == ["Tổng hợp", "reaches", "installs", "trained"]
    assert any(n.startswith("Bảng xếp hạng tổ ngày 05_07") and len(n) <= 31 for n in names)
    assert "airings × listeners" in strings
    assert list(tmp_path.iterdir()) == [path]  # no temp file left


def test_write_reports_each_format_or_none(measurement: Measurement, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    paths = write_reports(measurement, out, ("md", "html", "json", "xlsx", "text"), parse_view("press"))
    assert [p.name for p in paths] == ["report-press.md", "report-press.html", "report-press.json",
                                       "report-press.xlsx", "report-press.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)

    def broken(*args: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr("langson_comms.reports.files.report_html", broken)
    with pytest.raises(RuntimeError):
        write_reports(measurement, tmp_path / "again", ("md", "html"))
    assert not (tmp_path / "again").exists() or not any((tmp_path / "again").iterdir())


def test_an_output_is_never_an_input(measurement: Measurement, tmp_path: Path) -> None:
    campaign = tmp_path / "report.md"
    campaign.write_text("not a report", encoding="utf-8")
    with pytest.raises(ConfigError, match="never overwrites an input"):
        write_reports(measurement, tmp_path, ("md",), inputs=[("campaign file", campaign)])
    assert campaign.read_text(encoding="utf-8") == "not a report"


def test_terminal_figures_are_never_cut_on_an_80_column_terminal(measurement: Measurement) -> None:
    """Review11: at 80 columns (a pipe, a small window) rich cut the figures themselves:
    target "12,000,0…", forecast "10,443,8…"; names may wrap, figures may not."""
    import attrs

    kpis = dict(measurement.kpis)
    reach = kpis["reaches"]
    assert reach.pacing is not None
    kpis["reaches"] = attrs.evolve(reach, value=3_568_783.0, target=12_000_000.0,
                                   pacing=attrs.evolve(reach.pacing, forecast=10_443_839.0))
    kpis["population_reached"] = attrs.evolve(kpis["trained"], key="population_reached", kind="coverage")
    text = report_text(attrs.evolve(measurement, kpis=kpis), width=80)
    for figure in ("3,568,783", "12,000,000", "10,443,839", "29.7%"):
        assert figure in text, figure
    assert "…" not in text.split("reaches:")[0]


def test_terminal_airings_are_against_those_due_by_the_as_of_day(measurement: Measurement) -> None:
    """Review11: "aired 535 of 15,582 planned (935 missed)" set the airings of the
    report's 3 weeks against the whole half-year plan (3 % instead of 36 %)."""
    import attrs

    assert measurement.compliance is not None
    compliance = attrs.evolve(measurement.compliance,
                              broadcast_total={"planned": 100, "aired": 6, "missed": 4, "pending": 90})
    text = report_text(attrs.evolve(measurement, compliance=compliance), width=200)
    assert "loudspeaker airings aired 6 of 10 due by 2022-07-05 (4 missed; 100 planned in all)" in text


def test_a_leaderboard_before_the_first_install_says_so(measurement: Measurement) -> None:
    """Review11: before any install the report ranked every team 1st with 0 (194 rows
    of zeros for the reference plan) and drew an empty bar chart."""
    import attrs

    from langson_comms.kpi import leaderboard
    from langson_comms.testing.kpi_contract import contract_data

    from .conftest import PERIOD

    empty = attrs.evolve(measurement, leaderboard=leaderboard(attrs.evolve(contract_data(), signups=[]),
                                                              PERIOD, PERIOD.end))
    md = report_markdown(empty)
    assert "Chưa có lượt cài nào: chưa xếp hạng tổ." in md and "| 1 |  | Tổ Xã Một" not in md
    text = report_text(empty, width=200)
    assert "Leaderboard 2022-07-05: no install yet, no team ranked" in text and "Tổ Xã Một" not in text
    assert 'data-chart="leaderboard"' not in report_html(empty)


def test_a_district_view_of_no_district_of_the_campaign_is_an_error() -> None:
    """Review11: ``--for district:999`` gave a report of zeros for a district that does
    not exist (a typo looked like a district with nothing done)."""
    from langson_comms.testing.kpi_contract import contract_kpi_campaign

    campaign = contract_kpi_campaign()  # districts 21 and 22
    assert parse_view("district:21", campaign) == parse_view("district:21")
    assert parse_view("district:021", campaign).district == "21"  # codes compare as numbers
    for text in ("district:999", "district:100", "district:abc"):  # 100 is a commune
        with pytest.raises(ConfigError) as info:
            parse_view(text, campaign)
        assert info.value.key == "--for" and "expected one of the campaign's districts: 21, 22" in str(info.value)


def test_a_name_that_looks_like_a_formula_stays_text_in_the_workbooks(measurement: Measurement,
                                                                    tmp_path: Path) -> None:
    """Review11: xlsxwriter's ``write`` turns a text starting with "=" into a formula: a team
    name "=HYPERLINK(…)" from a teams file became a live link in the offices' Excel."""
    import attrs

    from langson_comms.kpi import write_leaderboard_xlsx

    assert measurement.leaderboard is not None
    evil = '=HYPERLINK("http://example.invalid/x","bấm")'
    rows = tuple(attrs.evolve(r, team_name=evil) for r in measurement.leaderboard.rows)
    m = attrs.evolve(measurement, leaderboard=attrs.evolve(measurement.leaderboard, rows=rows))
    for path in (write_report_xlsx(m, tmp_path / "r.xlsx"), write_leaderboard_xlsx(m.leaderboard, tmp_path / "b.xlsx")):
        with zipfile.ZipFile(path) as book:
            sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
            shared = book.read("xl/sharedStrings.xml").decode()
        assert not any("<f>" in s for s in sheets), path
        assert "HYPERLINK" in shared, path


def test_a_dollar_in_a_team_name_is_text_not_mathtext(measurement: Measurement) -> None:
    """Review11: matplotlib read "$…$" in a label as TeX: a team named "Tổ $\\frac{1$ xã" in
    the teams file stopped every HTML report and the dashboard (ParseSyntaxException)."""
    import attrs

    from langson_comms.reports import chart_svg

    assert measurement.leaderboard is not None
    rows = tuple(attrs.evolve(r, team_name="Tổ $\\frac{1$ xã") for r in measurement.leaderboard.rows)
    m = attrs.evolve(measurement, leaderboard=attrs.evolve(measurement.leaderboard, rows=rows))
    svg = chart_svg("leaderboard", m)
    assert svg is not None and "$\\frac{1$ xã" in svg


@pytest.mark.parametrize("office", [None, "district:21", "digital-transformation"])
def test_square_brackets_in_names_are_text_in_the_terminal(measurement: Measurement, office: str | None) -> None:
    """Review11: rich read "[/b]" in a team name (or a note, a title, a path) as markup: a
    teams file stopped ``report`` with MarkupError, and "[red]" coloured the rest."""
    import attrs

    assert measurement.leaderboard is not None
    name = "Tổ [/b] xã [red]đỏ"
    rows = tuple(attrs.evolve(r, team_name=name) for r in measurement.leaderboard.rows)
    m = attrs.evolve(measurement, campaign_title="Chiến dịch [/i]", notes=("store /data/[/old]/x.sqlite",),
                     leaderboard=attrs.evolve(measurement.leaderboard, rows=rows))
    text = report_text(m, parse_view(office), width=200)
    assert name in text and "Chiến dịch [/i]" in text
    if office is None:
        assert "store /data/[/old]/x.sqlite" in text


def test_no_chart_of_a_kpi_with_nothing_to_measure_yet(measurement: Measurement) -> None:
    """Review11: with no reach and no sign-up yet the HTML drew a flat 0 line against the
    12 M target and an empty installs chart: the "0 %" the table no longer shows."""
    import attrs

    from langson_comms.reports import chart_svg

    kpis = {k: attrs.evolve(r, no_data="nothing yet", pacing=None, breakdowns={}) for k, r in measurement.kpis.items()}
    empty = attrs.evolve(measurement, kpis=kpis)
    assert chart_svg("reach_cumulative", empty) is None and chart_svg("installs_per_day", empty) is None
    assert chart_svg("reach_cumulative", measurement) is not None


def test_the_whole_campaign_text_report_shows_each_kpis_notes(measurement: Measurement) -> None:
    """Accept: report.md, .html and .json listed "reaches: no reach records yet for: sms"
    (examples/langson_2022/README.md quotes it), but the terminal report and report.txt
    printed only the campaign-wide notes and dropped every KPI's own."""
    import attrs

    key = next(iter(measurement.kpis))
    kpis = {**measurement.kpis, key: attrs.evolve(measurement.kpis[key], notes=("no reach records yet for: sms",))}
    text = report_text(attrs.evolve(measurement, kpis=kpis), parse_view(None), width=200)
    assert f"{key}: no reach records yet for: sms" in text
