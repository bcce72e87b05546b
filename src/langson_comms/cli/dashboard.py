"""``dashboard``: serve the live report (a thin shell over ``langson_comms.reports.Dashboard``).

Exit codes: 0 stopped (Ctrl-C), 2 usage or configuration error (a non-loopback address
without a token, a port in use)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import click
import pendulum

from ..errors import ConfigError
from ..reports import Dashboard, parse_view, run_dashboard
from ..runtime import Runtime
from .options import api_flags, campaign_option

__all__ = ["dashboard"]

TOKEN_ENV = "LANGSON_DASHBOARD_TOKEN"


def _date(value: str | None, option: str) -> pendulum.Date | None:
    if value is None:
        return None
    try:
        return pendulum.Date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)", param_hint=option) from None


@click.command("dashboard")
@campaign_option(into="campaign_path")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback, a token is required.")
@click.option("--port", type=click.IntRange(0, 65535), default=8050, show_default=True,
              help="Port to listen on (0: any free port, printed).")
@click.option("--token-env", default=TOKEN_ENV, show_default=True,
              help="Environment variable holding the token asked for when not on loopback.")
@click.option("--from", "start", default=None, help="First day (YYYY-MM-DD; default the campaign's start).")
@click.option("--to", "end", default=None, help="Last day (YYYY-MM-DD; default today, or the campaign's end).")
@click.option("--for", "view_for", default=None, metavar="OFFICE",
              help="An office's part: press, digital-transformation, technology-centre or district:<code>.")
@click.option("--poll-ms", type=click.IntRange(100, 60_000), default=500, show_default=True,
              help="How often the page asks for new figures.")
@click.pass_obj
@api_flags({"start": "--from", "end": "--to"})  # the period checked at the first refresh
def dashboard(runtime: Runtime, campaign_path: Path, host: str, port: int, token_env: str, start: str | None,
              end: str | None, view_for: str | None, poll_ms: int) -> None:
    """Serve the report live on HOST:PORT, refreshed as sign-ups, confirmations and
    delivery reports arrive (read-only)."""
    campaign = runtime.load_campaign(campaign_path)
    board = Dashboard(campaign, clock=runtime.clock, host=host, port=port, token=os.environ.get(token_env) or None,
                      view=parse_view(view_for, campaign), start=_date(start, "--from"), end=_date(end, "--to"),
                      registry=runtime.registry, poll_ms=poll_ms)

    def ready(url: str) -> None:
        click.echo(f"dashboard on {url} (Ctrl-C stops)", err=False)

    async def serve() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # SIGTERM stops it as Ctrl-C does
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run_dashboard(board, ready=ready)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror} (expected a free port)") from None
