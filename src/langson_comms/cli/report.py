"""``report`` and ``leaderboard``: a thin shell over ``langson_comms.kpi``.

Both find the campaign with ``-c/--campaign FILE`` (else ``LANGSON_COMMS_CAMPAIGN``,
else ``./campaign.toml``), measure it from its stores (``measure_stores``) and render
the one ``Measurement``.  Exit codes: 0 done, 2 usage or configuration error.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import pendulum
from rich.console import Console
from rich.table import Table

from ..kpi import (
    Measurement,
    leaderboard,
    measure_stores,
    report_period,
    write_leaderboard_csv,
    write_leaderboard_xlsx,
    zalo_messages,
)
from ..kpi.data import load_data
from ..outputs import atomic_output
from ..runtime import Runtime
from .signups import campaign_option

__all__ = ["leaderboard_command", "report", "report_json", "report_text"]

FORMATS = ("text", "json")


def _date(value: str | None, option: str) -> pendulum.Date | None:
    if value is None:
        return None
    try:
        return pendulum.Date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param_hint=option) from None


def report_json(measurement: Measurement) -> str:
    """The report as JSON text (``Measurement.as_dict()``, UTF-8, indented)."""
    return json.dumps(measurement.as_dict(), ensure_ascii=False, indent=2) + "\n"


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:.1f} %"
    return f"{value:,.0f}"


def report_text(measurement: Measurement, console: Console) -> None:
    """Print the report as terminal tables (rich)."""
    m = measurement
    console.print(f"[bold]{m.campaign_title}[/bold] — {m.period_start} to {m.period_end} "
                  f"(as of {m.as_of})", highlight=False)
    table = Table("target", "kind", "value", "target", "progress", "pace", "forecast",
                  title="KPIs")
    for key, r in m.kpis.items():
        pace = forecast = "—"
        if r.pacing is not None:
            pace = "—" if r.pacing.ratio is None else f"{r.pacing.ratio:.0%}"
            forecast = _figure(r.pacing.forecast, r.unit)
        progress = "—" if r.progress is None else f"{r.progress:.1%}"
        table.add_row(key, r.kind, _figure(r.value, r.unit), _figure(r.target, r.unit), progress, pace, forecast)
    console.print(table)
    for key, r in m.kpis.items():
        console.print(f"{key}: {r.method}", highlight=False)
    if m.attribution is not None:
        a = m.attribution
        sms = (f"{a.reached_by_sms:,} reached by SMS within {a.window_days} days"
               if a.sms_matched else f"SMS match not made ({a.note})")
        console.print(f"attribution: {a.installs:,} installs; "
                      + ", ".join(f"{k} {v:,}" for k, v in a.by_rule.items()) + f"; {sms}", highlight=False)
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
            parts.append(f"loudspeaker airings aired {t['aired']:,} of {t['planned']:,} planned "
                         f"({t['missed']:,} missed)")
        if parts:
            console.print("compliance: " + "; ".join(parts), highlight=False)
    if m.leaderboard is not None:
        board = Table("rank", "±", "team", "commune", "day", "total", title=f"Leaderboard {m.leaderboard.day}")
        for row in m.leaderboard.rows:
            change = "" if not row.rank_change else f"{row.rank_change:+d}"
            board.add_row(str(row.rank), change, row.team_name, row.commune_name,
                          f"{row.installs_day:,}", f"{row.installs:,}")
        console.print(board)
    for note in m.notes:
        console.print(f"note: {note}", highlight=False)


@click.command("report")
@campaign_option
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD; default the campaign's start).")
@click.option("--to", "end", default=None,
              help="Last day, the as-of day (YYYY-MM-DD; default today, or the campaign's end if earlier).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="How to render the report.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.<format> into this folder instead of printing.")
@click.pass_obj
def report(runtime: Runtime, campaign_path: Path, start: str | None, end: str | None, fmt: str,
           out: Path | None) -> None:
    """Measure every KPI of the campaign and render the report."""
    campaign = runtime.load_campaign(campaign_path)
    period = report_period(campaign, runtime.clock, _date(start, "--from"), _date(end, "--to"))
    measurement = measure_stores(campaign, period, clock=runtime.clock, registry=runtime.registry)
    if fmt == "json":
        text = report_json(measurement)
    else:
        if out is None:
            report_text(measurement, Console())
            return
        capture = Console(record=True, width=120, file=io.StringIO())
        report_text(measurement, capture)
        text = capture.export_text()
    if out is None:
        click.echo(text, nl=False)
        return
    path = out / f"report.{'json' if fmt == 'json' else 'txt'}"
    with atomic_output(path) as handle:
        handle.write(text)
    click.echo(f"wrote {path}")


@click.command("leaderboard")
@campaign_option
@click.option("--day", "day", default=None, help="The day (YYYY-MM-DD; default today, or the campaign's end).")
@click.option("--format", "fmt", type=click.Choice(("text", "csv", "xlsx")), default="text", show_default=True,
              help="text: Vietnamese messages for Zalo (one per district when long); csv (UTF-8 with BOM); xlsx.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (required for xlsx).")
@click.pass_obj
def leaderboard_command(runtime: Runtime, campaign_path: Path, day: str | None, fmt: str,
                        out: Path | None) -> None:
    """The daily team leaderboard: installs per team on the day and since the start."""
    from ..signups import SqliteSignupStore

    campaign = runtime.load_campaign(campaign_path)
    period = report_period(campaign, runtime.clock, None, _date(day, "--day"))
    if not campaign.teams:
        raise click.UsageError("the campaign has no [teams]: a leaderboard ranks teams")
    path = campaign.signups.store_path if campaign.signups is not None else None
    if path is not None and Path(path).is_file():
        with SqliteSignupStore(path) as store:
            data = load_data(campaign, period, signups=store)
    else:
        data = load_data(campaign, period)
    metric = next((getattr(t.kpi, "metric", "installs") for t in campaign.targets.values()
                   if t.kind == "leaderboard"), "installs")
    board = leaderboard(data, period, period.end, metric=metric)
    if fmt == "xlsx":
        if out is None:
            raise click.UsageError("--format xlsx needs --out FILE")
        write_leaderboard_xlsx(board, out)
        click.echo(f"wrote {out}")
    elif fmt == "csv" and out is not None:
        write_leaderboard_csv(board, out)
        click.echo(f"wrote {out}")
    elif fmt == "csv":
        from ..kpi import leaderboard_csv

        click.echo(leaderboard_csv(board), nl=False)
    else:
        text = "\n\n-----\n\n".join(zalo_messages(board)) + "\n"
        if out is None:
            click.echo(text, nl=False)
        else:
            with atomic_output(out) as handle:
                handle.write(text)
            click.echo(f"wrote {out}")
