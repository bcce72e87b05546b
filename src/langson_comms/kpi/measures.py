"""The measures behind the built-in KPI kinds, as plain functions of ``KpiData``.

Each function's docstring is its method in words; docs/kpis.md says the same.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter

import pendulum

from ..campaign import Period
from .data import KpiData, ReachFact, SignupFact
from .result import AttributionSummary, KpiResult, Pacing

__all__ = [
    "FORECAST_DAYS",
    "attribution",
    "cumulative",
    "installs_of",
    "pacing",
    "reach_breakdowns",
]

#: the forecast extrapolates the rate of this many last days
FORECAST_DAYS = 14
INSTALL = "install"


def pacing(by_day: Mapping[str, float], target: float | None, period: Period, as_of: pendulum.Date,
           *, days: int = FORECAST_DAYS) -> Pacing | None:
    """Progress for the elapsed share of the period and a forecast to its end.

    elapsed share = days from the start to ``as_of`` inclusive / the period's days;
    expected = target × elapsed share; forecast = value so far + (the mean daily value of
    the last ``days`` days up to ``as_of``, fewer at the start) × the days left."""
    if target is None:
        return None
    as_of = min(max(as_of, period.start), period.end)
    elapsed = (as_of - period.start).days + 1
    share = elapsed / period.days
    first, last = period.start.isoformat(), as_of.isoformat()
    value = sum(v for d, v in by_day.items() if first <= d <= last)
    window = min(days, elapsed)
    since = as_of.subtract(days=window - 1).isoformat()
    rate = sum(v for d, v in by_day.items() if since <= d <= last) / window
    left = period.days - elapsed
    forecast = value + rate * left
    expected = target * share
    return Pacing(
        as_of=as_of, elapsed_share=share, expected=expected,
        ratio=value / expected if expected else None, forecast=forecast,
        forecast_method=(f"the value so far plus the mean of the last {window} day(s) "
                         f"({rate:,.1f} a day) times the {left} day(s) left"),
        on_track=forecast >= target, target_per_day=target / period.days,
    )


def _paced(period: Period, data: KpiData, notes: list[str]) -> bool:
    """Whether ``period`` can be paced: it starts with the campaign (pace and forecast run
    from the campaign's start; a later start would pace part of the value against all of
    the expected); else a note says why there are none."""
    start = data.campaign.period.start
    if period.start <= start:
        return True
    notes.append(f"no pace and forecast: the period starts after the campaign ({start}); "
                 f"pace and forecast run from the campaign's start (report from {start} for them)")
    return False


def _bounds(period: Period, as_of: pendulum.Date) -> tuple[str, str]:
    """The first and last day counted (YYYY-MM-DD): the period's days up to ``as_of``."""
    return period.start.isoformat(), min(period.end, as_of).isoformat()


def reach_breakdowns(records: Iterable[ReachFact]) -> dict[str, dict[str, float]]:
    """Reaches summed by day, channel, district and commune (areas when known)."""
    out: dict[str, dict[str, float]] = {"day": defaultdict(float), "channel": defaultdict(float),
                                        "district": defaultdict(float), "commune": defaultdict(float)}
    for r in records:
        out["day"][r.day] += r.reaches
        out["channel"][r.channel] += r.reaches
        if r.district_code:
            out["district"][r.district_code] += r.reaches
        if r.commune_code:
            out["commune"][r.commune_code] += r.reaches
    return {dim: dict(sorted(values.items())) for dim, values in out.items()}


def measure_reach(data: KpiData, period: Period, target: float, channels: Sequence[str] = ()) -> KpiResult:
    """Reach: the sum of every channel's reach records in the period (only ``channels``
    when the target names some), per day, channel, district and commune; each channel
    counts by its own method (listed in ``details.methods``)."""
    lo, hi = _bounds(period, data.as_of)
    records = [r for r in data.reach if lo <= r.day <= hi and (not channels or r.channel in channels)]
    breakdowns = reach_breakdowns(records)
    methods: dict[str, list[str]] = defaultdict(list)
    for r in records:
        if r.method not in methods[r.channel]:
            methods[r.channel].append(r.method)
    value = float(sum(r.reaches for r in records))
    notes = list(data.notes)
    missing = [k for k in (channels or list(data.campaign.channels)) if k not in methods]
    if missing:
        notes.append(f"no reach records yet for: {', '.join(missing)}")
    no_data = "" if records else "no reach recorded yet in the period"
    paced = not no_data and _paced(period, data, notes)
    return KpiResult(
        key="", kind="reach", value=value, target=float(target), unit="reaches",
        method=("the sum of every channel's reach records in the period"
                + (f" (channels {', '.join(channels)})" if channels else "")
                + "; each channel counts by its own method (details.methods)"),
        breakdowns=breakdowns,
        pacing=pacing(breakdowns["day"], target, data.campaign.period, data.as_of) if paced else None,
        details={"methods": {k: "; ".join(v) for k, v in sorted(methods.items())}},
        notes=tuple(notes), no_data=no_data,
    )


def installs_of(signups: Iterable[SignupFact], period: Period, as_of: pendulum.Date,
                kinds: Sequence[str] = (INSTALL,), platforms: Sequence[str] = ()) -> list[SignupFact]:
    """The events of ``kinds`` (and ``platforms`` when given) on days of the period up to ``as_of``."""
    lo, hi = _bounds(period, as_of)
    return [s for s in signups if s.kind in kinds and lo <= s.day <= hi
            and (not platforms or s.platform in platforms)]


def cumulative(by_day: Mapping[str, float]) -> dict[str, float]:
    """Running totals of a by-day mapping, in day order."""
    total = 0.0
    out = {}
    for day in sorted(by_day):
        total += by_day[day]
        out[day] = total
    return out


def _named(counts: Counter[str | None], missing: str) -> Counter[str]:
    """``counts`` with an empty or ``None`` key counted as ``missing``."""
    out: Counter[str] = Counter()
    for key, n in counts.items():
        out[key or missing] += n
    return out


def measure_conversion(data: KpiData, period: Period, *, per_reaches: int, installs_per: int,
                       reach_target: float | None, reaches: float | None,
                       platforms: Sequence[str] = ()) -> KpiResult:
    """Conversion: installs (sign-ups of kind ``install``) in the period against the goal
    reach target × installs / per_reaches (without a reach target: the measured reach ×
    installs / per_reaches); reaches per install against per_reaches; every sign-up kind
    counted per platform."""
    installs = installs_of(data.signups, period, data.as_of, platforms=platforms)
    # Counted with Counter over attribute getters (C loops), then renamed and grouped
    # per distinct value: this runs at every refresh of the dashboard.
    communes = Counter(map(attrgetter("commune_code"), installs))
    districts: Counter[str] = Counter()
    for code, n in communes.items():
        districts[data.district_of(code) or "unknown"] += n
    by: dict[str, Counter[str]] = {
        "day": Counter(map(attrgetter("day"), installs)),
        "platform": Counter(map(attrgetter("platform"), installs)),
        "team": _named(Counter(map(attrgetter("team_code"), installs)), "unattributed"),
        "commune": _named(communes, "unknown"), "district": districts}
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    lo, hi = _bounds(period, data.as_of)
    in_period = [s for s in data.signups if lo <= s.day <= hi and (not platforms or s.platform in platforms)]
    no_data = "" if in_period else "no sign-up recorded yet in the period"
    pairs = Counter(map(attrgetter("platform", "kind"), in_period))
    for (platform, kind), n in pairs.items():
        kinds[platform][kind] += n
    value = float(len(installs))
    goal_from = reach_target if reach_target is not None else reaches
    target = None if goal_from is None else goal_from * installs_per / per_reaches
    per_install = (reaches / value) if reaches is not None and value else None
    notes = [] if reach_target is not None else ["no reach target: the goal follows the measured reach"]
    paced = not no_data and _paced(period, data, notes)
    return KpiResult(
        key="", kind="conversion", value=value, target=target, unit="installs",
        method=("installs (sign-ups of kind 'install') in the period against "
                f"{installs_per} per {per_reaches:,} reaches of the "
                + ("reach target" if reach_target is not None else "measured reach")
                + "; reaches per install = measured reaches / installs"),
        breakdowns={dim: dict(sorted(c.items())) for dim, c in by.items()},
        pacing=pacing(by["day"], target, data.campaign.period, data.as_of) if paced else None,
        details={
            "reaches": reaches, "reaches_per_install": per_install,
            "target_reaches_per_install": per_reaches / installs_per,
            "expected_from_reach": None if reaches is None else reaches * installs_per / per_reaches,
            "by_platform_kind": {p: dict(sorted(c.items())) for p, c in sorted(kinds.items())},
        },
        notes=tuple(notes), no_data=no_data,
    )


def coverage_share(reaches_by_channel: Mapping[str, float], population: int,
                   distinct: Mapping[str, float] | None = None, bound: int | None = None) -> float:
    """The share of ``population`` reached at least once (0..1).

    Model: a channel in ``distinct`` reaches distinct people (SMS: one delivered message
    per subscriber), capped at ``bound`` (the subscriber base) and at the population:
    share = min(people, bound, population) / population.  Any other channel's reaches
    fall on people at random, so its share is 1 − e^(−reaches / population) (Poisson).
    Channels are independent: covered = 1 − Π (1 − share of each channel)."""
    if population <= 0:
        return 0.0
    missed = 1.0
    for reaches in reaches_by_channel.values():
        missed *= math.exp(-reaches / population)
    for people in (distinct or {}).values():
        cap = min(people, bound if bound is not None else people, population)
        missed *= 1 - cap / population
    return 1 - missed


def measure_coverage(data: KpiData, period: Period, *, target_percent: float, population: int | None,
                     population_source: str = "") -> KpiResult:
    """Coverage: people, not reaches — the estimated share of the population reached at
    least once by any channel, by ``coverage_share``'s overlap model; SMS counts distinct
    subscribers, bounded by the carriers' subscriber base."""
    lo, hi = _bounds(period, data.as_of)
    records = [r for r in data.reach if lo <= r.day <= hi]
    sms = set(data.distinct_channels)
    random: dict[str, float] = defaultdict(float)
    distinct: dict[str, float] = defaultdict(float)
    for r in records:
        (distinct if r.channel in sms else random)[r.channel] += r.reaches
    notes = list(data.notes)
    no_data = "" if records else "no reach recorded yet in the period"
    if population is None:
        notes.append("no population: coverage cannot be estimated (set [targets.*] population)")
        no_data = "no population: coverage cannot be estimated"
        share = 0.0
    else:
        share = coverage_share(random, population, distinct, data.sms_subscribers)
    by_channel = {}
    if population:
        for k, v in random.items():
            by_channel[k] = 100 * coverage_share({k: v}, population)
        for k, v in distinct.items():
            by_channel[k] = 100 * coverage_share({}, population, {k: v}, data.sms_subscribers)
    return KpiResult(
        key="", kind="coverage", value=100 * share, target=float(target_percent), unit="percent",
        method=("estimated share of the population reached at least once: channels independent; "
                "SMS reaches distinct subscribers (capped by the subscriber base); other channels' "
                "reaches fall at random (share = 1 − e^(−reaches/population))"),
        breakdowns={"channel": dict(sorted(by_channel.items()))},
        details={"population": population, "population_source": population_source,
                 "sms_subscribers": data.sms_subscribers,
                 "people_reached": None if population is None else round(share * population)},
        notes=tuple(notes), no_data=no_data,
    )


def measure_team_training(data: KpiData, period: Period, *, target_percent: float) -> KpiResult:
    """Team training: the share of the teams' members trained by the period's end — from
    the outreach channel's training records (a member is trained from the date of their
    record) and the teams file (``trained`` without a dated record) — per team from the
    teams file; field work started before training: the outreach visits made by a team
    with a member not trained yet that day, and the teams whose first credited sign-up
    came while their trained share was below the target."""
    teams = data.campaign.teams
    members = [m for t in teams for m in t.members]
    trained = sum(m.trained for m in members)
    total = len(members)
    source = "the teams file"
    training = data.compliance.training if data.compliance is not None else None
    if training and training.get("members"):
        trained, total = int(training["trained"]), int(training["members"])
        source = "training records and the teams file"
    value = 100.0 * trained / total if total else 0.0
    first_day: dict[str, str] = {}
    for s in data.signups:
        if s.team_code and s.team_code not in first_day:
            first_day[s.team_code] = s.day
    early = sorted(t.code for t in teams if t.code in first_day and 100 * t.trained_share < target_percent)
    visits = data.compliance.visits_before_trained if data.compliance is not None else None
    notes = []
    if total != len(members):
        why = (" (members found in the training records of teams the file lists no members for)"
               if total > len(members) else "")
        notes.append(f"the training records count {total} members, the teams file lists {len(members)}{why}")
    if training:
        names = Counter((t.code, " ".join(m.name.split()).casefold()) for t in teams for m in t.members)
        twins = {key: n for key, n in names.items() if n > 1}
        if twins:
            where = ", ".join(sorted({team for team, _ in twins}))
            notes.append(f"{sum(twins.values())} members share a name with a teammate (team {where}): "
                         "a training record names its member by team and name, so it dates every namesake")
    return KpiResult(
        key="", kind="team_training", value=value, target=float(target_percent), unit="percent",
        method=(f"members trained by the period's end / all members ({source}); field work before "
                "training = outreach visits by a team with a member not trained that day, and teams "
                "with a credited sign-up while below the target"),
        breakdowns={"team": {t.code: 100 * t.trained_share for t in teams}},
        details={"members": total, "trained": trained,
                 "started_before_trained": early, "visits_before_trained": visits,
                 "field_work_started": dict(sorted(first_day.items())),
                 "teams_file_members": len(members)},
        notes=tuple(notes), no_data="" if total else "no team member in the teams file",
    )


def attribution(data: KpiData, period: Period) -> AttributionSummary:
    """Installs of the period by attribution rule, and those "reached by SMS": an SMS was
    delivered to the same number (same keyed hash) within ``attribution_window_days``
    before the install (inclusive of the install's instant)."""
    installs = installs_of(data.signups, period, data.as_of)
    rules = Counter(s.rule for s in installs)
    with_phone = [s for s in installs if s.phone_hash]
    window = data.attribution_window_days * 86400
    reached = 0
    if data.sms_deliveries is not None:
        for s in with_phone:
            times = data.sms_deliveries.get(s.phone_hash or "")
            if times and any(s.occurred_at - window <= t <= s.occurred_at for t in times):
                reached += 1
    return AttributionSummary(
        installs=len(installs), by_rule=dict(sorted(rules.items())), with_phone=len(with_phone),
        reached_by_sms=reached, window_days=data.attribution_window_days,
        sms_matched=data.sms_deliveries is not None,
        preceding_channels={"sms": reached} if data.sms_deliveries is not None else {},
        note=data.sms_note,
    )
