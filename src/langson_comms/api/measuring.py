"""Activity logs and measurement as one call each, opening the campaign's own stores (a
host application that keeps its stores elsewhere calls ``langson_comms.activity.log_files``
and ``langson_comms.kpi.measure`` with stores it opened itself).  The sign-up calls live
in ``api.signups`` and are importable from here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pendulum

from ..activity import ActivityStatus, LogReport, SqliteActivityStore, activity_status, log_files
from ..campaign import Campaign
from ..clock import Clock, SystemClock
from ..errors import ConfigError
from ..kpi import (
    Leaderboard,
    Measurement,
    leaderboard,
    load_data,
    measure_stores,
    report_period,
    store_paths,
    write_leaderboard_csv,
    write_leaderboard_xlsx,
    zalo_messages,
)
from ..outputs import atomic_output, campaign_inputs, refuse_inputs
from ..runtime import Runtime
from ..signups import SqliteSignupStore
from .signups import ingest_signups, signups_status

__all__ = ["activity_store_path", "day_leaderboard", "ingest_signups", "log_activity",
           "measure_campaign", "read_activity_status", "report_inputs", "signups_status",
           "write_leaderboard", "write_leaderboard_text"]


def activity_store_path(campaign: Campaign) -> Path:
    """The activity store of ``campaign``: ``.langson/activity.sqlite`` next to its file,
    or under ``build_campaign``'s ``base_dir`` (a ``Campaign`` made by hand has neither:
    pass ``store`` to the calls instead)."""
    path = store_paths(campaign).get("activity")
    if path is None:
        raise ConfigError("the campaign has no folder for its activity store: "
                          "pass store=PATH", key="store")
    return path


def _activity_store(campaign: Campaign, store: Path | None, files: Sequence[Path] = ()) -> Path:
    """The activity store's path, refused (``ConfigError``) when it is one of ``files``,
    the campaign file or a file it names: SQLite would turn an empty input into a database."""
    path = Path(store) if store is not None else activity_store_path(campaign)
    inputs = [("files", Path(f)) for f in files]
    if campaign.source is not None:
        inputs += campaign_inputs(Path(campaign.source))
    refuse_inputs([("activity store", path)], inputs)
    return path


def log_activity(campaign: Campaign, channel_key: str, files: Sequence[Path], *,
                 clock: Clock | None = None, store: Path | None = None,
                 kind: str | None = None) -> LogReport:
    """Log CSV/.xlsx ``files`` of an activity channel (press, visual, social, outreach or a
    plugin's) into the campaign's activity store (or ``store``, never one of the inputs);
    return the counts."""
    with SqliteActivityStore(_activity_store(campaign, store, files)) as opened:
        return log_files(campaign, opened, channel_key, files, clock=clock or SystemClock(),
                         kind=kind)


def read_activity_status(campaign: Campaign, *, start: dt.date | None = None,
                         end: dt.date | None = None, store: Path | None = None) -> ActivityStatus:
    """Records, reach, cadence gaps and training of every activity channel.  A ``store``
    given that does not exist is a ``ConfigError`` (a mistyped path is not "no activity");
    the campaign's own store is created empty when nothing was logged yet."""
    path = _activity_store(campaign, store)
    if store is not None and not path.is_file():
        raise ConfigError(f"no activity store at {path} (log activity into it first, or check the path)",
                          key="store")
    with SqliteActivityStore(path) as opened:
        return activity_status(campaign, opened, start=start, end=end)


def measure_campaign(campaign: Campaign, *, start: pendulum.Date | None = None,
                     end: pendulum.Date | None = None, clock: Clock | None = None,
                     env: Mapping[str, str] | None = None,
                     activity_store: Path | None = None,
                     runtime: Runtime | None = None) -> Measurement:
    """Every KPI, the leaderboard, attribution and compliance of ``campaign`` from its
    stores, over ``start``..``end`` (default: its start to the earlier of its end and
    today). The pseudonym key for the "reached by SMS" match is read from ``env``;
    ``activity_store`` is the store ``log_activity`` was given (default: the campaign's,
    ``activity_store_path``); ``runtime``'s registry rebuilds the broadcast plan for its
    compliance (default: a ``Runtime.create()``), as ``report`` does."""
    clock = clock or SystemClock()
    period = report_period(campaign, clock, start, end)
    registry = (runtime or Runtime.create()).registry
    return measure_stores(campaign, period, clock=clock, env=env, registry=registry,
                          activity_store=activity_store)


def report_inputs(campaign: Campaign, campaign_path: str | Path | None = None, *,
                  stores: Mapping[str, str | Path] | None = None) -> list[tuple[str, Path]]:
    """The files a report must never overwrite: the campaign file and the files it names
    (``campaign_path``, default the file the campaign was read from: a campaign built in
    Python has none), the campaign's stores and ``stores`` (name → path: the stores a host
    application passed in, e.g. ``{"activity": path}``); ``langson_comms.outputs.
    refuse_inputs`` takes this list."""
    if campaign_path is None and campaign.source is not None and Path(campaign.source).is_file():
        campaign_path = campaign.source
    found = list(campaign_inputs(Path(campaign_path))) if campaign_path is not None else []
    paths = {**store_paths(campaign), **{k: Path(v) for k, v in (stores or {}).items()}}
    return [*found, *((f"{name} store", path) for name, path in paths.items())]


def day_leaderboard(campaign: Campaign, *, day: pendulum.Date | None = None,
                    clock: Clock | None = None) -> Leaderboard:
    """The team leaderboard of ``day`` (default today, or the campaign's end) from the
    campaign's sign-up store; ``ConfigError`` when the campaign has no teams."""
    if not campaign.teams:
        raise ConfigError("the campaign has no [teams]: a leaderboard ranks teams", key="teams")
    if day is not None and day < campaign.period.start:
        raise ConfigError(f"{day} is before the campaign starts ({campaign.period.start}); "
                          f"expected a day from {campaign.period.start} on", key="day")
    if day is not None and day > campaign.period.end:
        raise ConfigError(f"{day} is after the campaign ends ({campaign.period.end}); "
                          f"expected a day up to {campaign.period.end}", key="day")
    period = report_period(campaign, clock or SystemClock(), None, day)
    path = campaign.signups.store_path if campaign.signups is not None else None
    if path is not None and Path(path).is_file():
        with SqliteSignupStore(path) as store:
            data = load_data(campaign, period, signups=store)
    else:
        data = load_data(campaign, period)
    metric = next((getattr(t.kpi, "metric", "installs") for t in campaign.targets.values()
                   if t.kind == "leaderboard"), "installs")
    return leaderboard(data, period, period.end, metric=metric)


def write_leaderboard_text(board: Leaderboard, path: Path) -> Path:
    """Write the leaderboard's Zalo messages (separated by a ``-----`` line) to ``path``,
    by temp file and rename."""
    with atomic_output(path) as handle:
        handle.write("\n\n-----\n\n".join(zalo_messages(board)) + "\n")
    return path


def write_leaderboard(board: Leaderboard, path: Path, fmt: str = "csv", *,
                      inputs: Iterable[tuple[str, Path]] = ()) -> Path:
    """Write the leaderboard to ``path`` as ``text`` (the Zalo messages), ``csv`` (UTF-8
    with a BOM) or ``xlsx``, by temp file and rename; a ``ConfigError`` before anything is
    written when ``path`` is one of ``inputs`` (``report_inputs(campaign)``:
    the campaign file, its teams and other files, its stores), or (keyed ``path``) when
    its folder cannot be made or written."""
    refuse_inputs([("path", path)], inputs)
    writers = {"text": write_leaderboard_text, "xlsx": write_leaderboard_xlsx, "csv": write_leaderboard_csv}
    if fmt not in writers:
        raise ConfigError(f"{fmt!r} is not a leaderboard format (expected text, csv or xlsx)")
    try:
        return writers[fmt](board, path)
    except OSError as error:  # a folder that cannot be made or written: say where and what
        raise ConfigError(f"cannot write {path}: {error.strerror or error} (expected a folder that can be "
                          "created and written)", key="path") from None
