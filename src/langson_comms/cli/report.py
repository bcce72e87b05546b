"""``report`` and ``leaderboard``: a thin shell over ``langson_comms.kpi``.

Both find the campaign with ``-c/--campaign FILE`` (``cli/options.py``; else ``LANGSON_COMMS_CAMPAIGN``,
else ``./campaign.toml``), measure it from its stores (``measure_stores``) and render
the one ``Measurement``.  Exit codes: 0 done, 2 usage or configuration error.
"""

from __future__ import annotations

from pathlib import Path

import click
import pendulum
from rich.console import Console

from ..api import day_leaderboard, report_inputs, write_leaderboard
from ..kpi import (
    measure_stores,
    report_period,
    zalo_messages,
)
from ..reports import FORMATS, parse_view, print_report, report_html, report_json, report_markdown, write_reports
from ..runtime import Runtime
from .options import api_flags, campaign_option

__all__ = ["leaderboard_command", "report"]

#: the API's names of the period's days (``report_period``, ``measure_campaign``) → our flags
PERIOD_FLAGS = {"start": "--from", "end": "--to"}


def _date(value: str | None, option: str) -> pendulum.Date | None:
    if value is None:
        return None
    try:
        return pendulum.Date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param_hint=option) from None


@click.command("report")
@campaign_option(into="campaign_path")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD; default the campaign's start).")
@click.option("--to", "end", default=None,
              help="Last day, the as-of day (YYYY-MM-DD; default today, or the campaign's end if earlier).")
@click.option("--format", "formats", type=click.Choice(FORMATS), multiple=True,
              help="How to render the report: text (terminal tables), md, html (one self-contained file "
                   "with charts), json (every figure), xlsx (one sheet per KPI); repeat for several with "
                   "--out.  [default: text; with --out: every format]")
@click.option("--for", "view_for", default=None, metavar="OFFICE",
              help="An office's part: press, digital-transformation, technology-centre or district:<code>.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report[-<office>].<suffix> for each format into this folder instead of printing.")
@click.pass_obj
def report(runtime: Runtime, campaign_path: Path, start: str | None, end: str | None, formats: tuple[str, ...],
           view_for: str | None, out: Path | None) -> None:
    """Measure every KPI of the campaign and render the report."""
    campaign = runtime.load_campaign(campaign_path)
    view = parse_view(view_for, campaign)
    with api_flags(PERIOD_FLAGS):
        period = report_period(campaign, runtime.clock, _date(start, "--from"), _date(end, "--to"))
    if out is None and len(formats) > 1:
        raise click.UsageError("several --format need --out DIR (one file each)")
    if out is None and formats == ("xlsx",):
        raise click.UsageError("--format xlsx needs --out DIR")
    measurement = measure_stores(campaign, period, clock=runtime.clock, registry=runtime.registry)
    if out is None:
        fmt = formats[0] if formats else "text"
        if fmt == "text":
            print_report(measurement, Console(), view)
            return
        if fmt == "json":
            text = report_json(measurement)
        else:
            text = report_markdown(measurement, view) if fmt == "md" else report_html(measurement, view)
        click.echo(text, nl=False)
        return
    inputs = report_inputs(campaign, campaign_path)
    for path in write_reports(measurement, out, formats or FORMATS, view, inputs=inputs):
        click.echo(f"wrote {path}")


@click.command("leaderboard")
@campaign_option(into="campaign_path")
@click.option("--day", "day", default=None, help="The day (YYYY-MM-DD; default today, or the campaign's end).")
@click.option("--format", "fmt", type=click.Choice(("text", "csv", "xlsx")), default="text", show_default=True,
              help="text: Vietnamese messages for Zalo (one per district when long); csv (UTF-8 with BOM); xlsx.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (required for xlsx).")
@click.pass_obj
@api_flags({"day": "--day", "end": "--day", "path": "--out"})  # end: the period's, the day
def leaderboard_command(runtime: Runtime, campaign_path: Path, day: str | None, fmt: str,
                        out: Path | None) -> None:
    """The daily team leaderboard: installs per team on the day and since the start."""
    campaign = runtime.load_campaign(campaign_path)
    board = day_leaderboard(campaign, day=_date(day, "--day"), clock=runtime.clock)
    if out is not None:
        inputs = report_inputs(campaign, campaign_path)  # never the teams file, a store…
        click.echo(f"wrote {write_leaderboard(board, out, fmt, inputs=inputs)}")
    elif fmt == "xlsx":
        raise click.UsageError("--format xlsx needs --out FILE")
    elif fmt == "csv":
        from ..kpi import leaderboard_csv

        click.echo(leaderboard_csv(board), nl=False)
    else:
        click.echo("\n\n-----\n\n".join(zalo_messages(board)) + "\n", nl=False)
