"""``measure()``: every KPI of a campaign for a period, computed once from the stores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from ..campaign import Campaign, Period
from ..clock import Clock
from ..errors import ConfigError, LangsonCommsError, PluginError
from .compliance import compliance_of
from .contract import Kpi
from .data import KpiData, ReachFact, load_data
from .leaderboard import leaderboard
from .measures import attribution
from .result import KpiResult, Measurement

__all__ = ["measure", "measure_data", "report_period"]


def report_period(campaign: Campaign, clock: Clock, start: pendulum.Date | None = None,
                  end: pendulum.Date | None = None) -> Period:
    """The period a report covers: ``start``/``end`` when given, else the campaign's start
    and the earlier of its end and today (the clock's local date).  A ``start`` or ``end``
    outside the campaign's days is a ``ConfigError`` keyed ``start``/``end``
    (``refuse_outside_campaign``): the parameters' names, which the CLI shows as its
    ``--from``/``--to``."""
    refuse_outside_campaign(campaign, start, end)
    today = clock.now().in_timezone(campaign.period.timezone).date()
    first = start or campaign.period.start
    last = end or min(campaign.period.end, max(today, first))
    if last < first:
        raise ConfigError(f"the report would end ({last}) before it starts ({first}); "
                          "expected an end on or after the start", key="end")
    return Period(first, last, campaign.period.timezone)


def refuse_outside_campaign(campaign: Campaign, start: pendulum.Date | None, end: pendulum.Date | None) -> None:
    """``ConfigError`` keyed ``start``/``end`` naming the campaign's dates when a given
    start or end is not one of the campaign's days: the KPIs pace against the campaign's
    days, so a period beyond them would mix two time lines."""
    first_day, last_day = campaign.period.start, campaign.period.end
    for key, day in (("start", start), ("end", end)):
        if day is None:
            continue
        where = (f"before the campaign starts ({first_day})" if day < first_day
                 else f"after the campaign ends ({last_day})" if day > last_day else None)
        if where is not None:
            raise ConfigError(f"{day} is {where}; expected a day from {first_day} to {last_day}", key=key)


def _measured(key: str, kind: str, kpi: Kpi, data: KpiData, period: Period) -> KpiResult:
    """``kpi.measure(data, period)``; a plugin's failure is a ``PluginError`` naming the
    target, its kind and the KPI class (an error of the SDK's own tree passes through)."""
    cls = type(kpi)
    where = f"target {key!r} ({kind}, {cls.__module__}.{cls.__qualname__})"
    try:
        result = kpi.measure(data, period)
    except LangsonCommsError:
        raise
    except Exception as exc:  # a bug in a KPI plugin: name it, as a failing hook is named
        raise PluginError(f"{where} raised in measure(): {type(exc).__name__}: {exc}",
                          plugin=cls.__module__) from exc
    if not isinstance(result, KpiResult):
        raise PluginError(f"{where}: measure() returned {type(result).__name__}, not a KpiResult "
                          "(expected langson_comms.kpi.KpiResult)", plugin=cls.__module__)
    return result


def measure_data(data: KpiData, period: Period, clock: Clock) -> Measurement:
    """Measure every target of ``data.campaign`` from ``data`` (no store is opened)."""
    campaign = data.campaign
    results: dict[str, KpiResult] = {}
    notes: list[str] = list(data.notes)
    board = None
    for key, target in campaign.targets.items():
        kpi = target.kpi
        if not isinstance(kpi, Kpi):
            notes.append(f"target {key!r} ({target.kind}) has no measure(): described only")
            continue
        result = _measured(key, target.kind, kpi, data, period)
        results[key] = attrs.evolve(result, key=key)
        if target.kind == "leaderboard" and board is None and campaign.teams:
            board = leaderboard(data, period, min(data.as_of, period.end),
                                metric=getattr(kpi, "metric", "installs"))
    if board is None and campaign.teams:
        board = leaderboard(data, period, min(data.as_of, period.end))
    return Measurement(
        campaign_id=campaign.id, campaign_title=campaign.title,
        period_start=period.start, period_end=period.end, as_of=data.as_of,
        measured_at=clock.now(), kpis=results, leaderboard=board,
        attribution=attribution(data, period), notes=tuple(notes), compliance=data.compliance,
    )


def measure(campaign: Campaign, period: Period, *, clock: Clock, signups: Any | None = None,
            ledger: Any | None = None, activity: Any | None = None, reach: Iterable[Any] | None = None,
            phone_hasher: Any | None = None, attribution_window_days: int = 7,
            registry: Any | None = None, hash_cache: Any | None = None,
            signup_cache: Any | None = None) -> Measurement:
    """Measure ``campaign`` over ``period`` (its last day is the as-of day) from the stores.

    ``signups``: a sign-up store (``SqliteSignupStore``); ``ledger``: an ``SqliteLedger``
    (subscriber base, "reached by SMS"); ``activity``: the activity store of the logged
    channels; ``reach``: the reach records to sum — by default
    ``reach_records(campaign, period, activity=activity)`` (every channel's, SMS and
    broadcast read from their own stores); ``phone_hasher``: E.164 → keyed hash;
    ``registry``: the runtime's registry, to build the broadcast plan for its compliance
    (``compliance_of``); ``hash_cache``: a ``HashCache`` of the ledger's phone hashes;
    ``signup_cache``: a ``SignupCache`` reading only the sign-ups stored since its last call;
    ``clock``: stamps ``measured_at``.  Any store may be ``None``: the figures it would
    give are 0 and the result's notes say so.
    """
    if reach is None:
        from ..reach import reach_records

        # The channels' own stores (SMS ledger, as-run store) through the contract; the
        # logged channels' reach summed in the activity store (one row per group).
        reach = list(reach_records(campaign, period, activity=None))
        if activity is not None:
            reach += [ReachFact(k, d, n, m, dc, cc)
                      for k, d, m, dc, cc, n in activity.reach_totals(period.start, period.end)
                      if k in campaign.channels]
    data = load_data(campaign, period, signups=signups, ledger=ledger, reach=reach,
                     phone_hasher=phone_hasher, attribution_window_days=attribution_window_days,
                     hash_cache=hash_cache, signup_cache=signup_cache)
    data = attrs.evolve(data, compliance=compliance_of(campaign, period, activity=activity, ledger=ledger,
                                                       registry=registry))
    return measure_data(data, period, clock)
