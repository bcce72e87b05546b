"""Logging activity (files or code) and summing it up: the library calls behind ``activity``.

``log_files(campaign, store, key, files, clock=…)`` reads CSV/.xlsx files with the one
tabular reader, turns each row into the channel's record (``from_row``) and its reach
(``reach``), and stores them batch by batch; every row ends accepted, duplicate or
rejected (``file:line``, the file's column, the reason).  ``log_records`` does the same
for records built in code.  ``activity_status`` sums records, reach, cadence gaps,
warnings and channel summaries (training) for a period.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import cattrs

from ..campaign import Campaign, Period
from ..clock import Clock, timestamp_of
from ..errors import ConfigError, DataError
from ..outputs import same_file
from ..tabular import RejectedRow, Table, header_key, read_table
from .contract import ActivityChannel, ActivityRecord, CadenceGap, DayCount, RowProblem, is_activity_channel
from .store import ActivityRejection, ActivityStore, LogRecord, StoredActivity, row_digest

__all__ = [
    "ActivityStatus",
    "FileCounts",
    "LogReport",
    "StoreView",
    "activity_channel",
    "activity_status",
    "decode_record",
    "encode_record",
    "log_files",
    "log_records",
]

REJECTIONS_KEPT = 20
WARNINGS_KEPT = 20


def _converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    conv.register_structure_hook(dt.date, lambda v, _: dt.date.fromisoformat(v))
    return conv


_CONVERTER = _converter()


def _iso(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_NAMES: dict[type, tuple[str, ...]] = {}


def encode_record(record: ActivityRecord) -> str:
    """The record's fields as JSON (how the store keeps it; dates as ISO text)."""
    cls = type(record)
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in attrs.fields(cls))  # type: ignore[arg-type]
    return json.dumps({n: getattr(record, n) for n in names}, ensure_ascii=False, default=_iso)


_DATE_FIELDS: dict[type, tuple[str, ...]] = {}


def _date_fields(cls: type[ActivityRecord]) -> tuple[str, ...]:
    found = _DATE_FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _DATE_FIELDS[cls] = tuple(
            f.name for f in attrs.fields(cls) if hints.get(f.name) in (dt.date, dt.date | None))  # type: ignore[arg-type]
    return found


def decode_record(data: str, cls: type[ActivityRecord]) -> ActivityRecord:
    """A record back from ``encode_record``'s JSON (dates parsed, the class's converters and
    validators run; a field type the fast path does not know falls back to cattrs)."""
    values = json.loads(data)
    try:
        for name in _date_fields(cls):
            if values.get(name) is not None:
                values[name] = dt.date.fromisoformat(values[name])
        return cls(**values)
    except (TypeError, ValueError):
        return _CONVERTER.structure(json.loads(data), cls)


@attrs.frozen
class FileCounts:
    """One file's (or code batch's) counts: ``read = accepted + duplicates + rejected``."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class LogReport:
    """Counts per file, and the first rejections of each file (all are in the store)."""

    channel: str
    files: Mapping[str, FileCounts]
    rejections: Mapping[str, tuple[ActivityRejection, ...]] = attrs.field(factory=dict)

    @property
    def totals(self) -> FileCounts:
        return FileCounts(*(sum(getattr(c, f) for c in self.files.values())
                            for f in ("read", "accepted", "duplicates", "rejected")))

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return self.totals.rejected == 0

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"channel", "files": {FILE: {...}}, "totals": {...}}``."""
        totals = self.totals.as_dict()
        totals.pop("kind")
        return {"channel": self.channel, "files": {k: c.as_dict() for k, c in self.files.items()},
                "totals": totals}


def activity_channel(campaign: Campaign, key: str) -> ActivityChannel:
    """The channel ``[channels.<key>]`` if it takes activity logs; ``ConfigError`` otherwise."""
    plan = campaign.channels.get(key)
    if plan is None:
        raise ConfigError(f"no channel {key!r} (known: {', '.join(sorted(campaign.channels)) or 'none'})",
                          source=campaign.source, key="channels")
    channel = plan.channel
    if not is_activity_channel(channel) or not channel.activity_records:
        loggable = [k for k, p in campaign.channels.items()
                    if is_activity_channel(p.channel) and p.channel.activity_records]
        raise ConfigError(f"channel {key!r} (kind {plan.kind!r}) takes no activity logs "
                          f"(channels that do: {', '.join(loggable) or 'none'})",
                          source=campaign.source, key=f"channels.{key}")
    assert isinstance(channel, ActivityChannel)
    return channel


class _Logger:
    """Turns records into stored rows for one channel (reach, period check)."""

    def __init__(self, campaign: Campaign, channel: ActivityChannel, key: str) -> None:
        self.campaign = campaign
        self.channel = channel
        self.key = key
        self.period = campaign.period

    def stored(self, record: ActivityRecord, source: str) -> StoredActivity:
        """The stored form; ``RowProblem``/``ValueError`` when the record cannot be used."""
        first, last = record.day, record.last_day
        start, end = self.period.start, self.period.end
        if record.within_period and (last < start or first > end):
            field = next((f for f in ("date", "start", "day") if f in record.columns), "date")
            raise RowProblem(field, f"{first.isoformat()} is outside the campaign period "
                                     f"{start.isoformat()}..{end.isoformat()}")
        # a placement running over the campaign's edges reaches people inside it only
        reach = tuple(r for r in self.channel.reach(record, key=self.key, campaign=self.campaign, source=source)
                      if start <= r.day <= end)
        return StoredActivity(record.kind, record.identity, first, last, record.group,
                              encode_record(record), source, reach)


def _pick_class(channel: ActivityChannel, header: Sequence[str], kind: str | None,
                source: str, line: int, shown: Mapping[str, str] | None = None,
                ) -> tuple[type[ActivityRecord], dict[str, str]]:
    """The record class the header fits, and header key → field (``shown``: header key →
    the file's own header, for messages).  Two columns for one field fit no class: which
    one would count is a guess."""
    candidates = [channel.record_class(kind)] if kind else list(channel.activity_records)
    best: tuple[int, type[ActivityRecord], dict[str, str]] | None = None
    problems = []
    for cls in candidates:
        names = {header_key(f): f for f in cls.columns}
        for field, aliases in cls.columns.items():
            for alias in aliases:
                names[header_key(alias)] = field
        mapping = {h: names[h] for h in header if h in names}
        missing = [f for f in cls.required if f not in mapping.values()]
        if missing:
            problems.append(f"{cls.kind}: missing column(s) {', '.join(missing)}")
            continue
        twice = {f: [h for h in mapping if mapping[h] == f] for f in set(mapping.values())}
        doubled = [" and ".join((shown or {}).get(h, h) for h in hs) + f" are both {f}"
                   for f, hs in twice.items() if len(hs) > 1]
        if doubled:
            problems.append(f"{cls.kind}: {'; '.join(sorted(doubled))} (keep one column per field)")
            continue
        if best is None or len(mapping) > best[0]:
            best = (len(mapping), cls, mapping)
    if best is None:
        raise DataError("the header fits no record kind of this channel ("
                        + "; ".join(problems) + ")", source=source, line=line)
    return best[1], best[2]


def _open(logger: _Logger, shown: str, path: Path, kind: str | None,
          ) -> tuple[Table, type[ActivityRecord], dict[str, str], dict[str, str]]:
    """The file's table (header read), its record class, header key → field, and header
    key → the file's own header; ``DataError`` for a missing file or an unfit header."""
    originals: dict[str, str] = {}

    def alias(name: str) -> str:
        key = header_key(name)
        originals.setdefault(key, name)
        return key

    if not path.is_file():
        raise DataError("file not found", source=shown)
    table = read_table(path, allow_unknown=True, aliases=alias, source=shown)
    try:
        cls, mapping = _pick_class(logger.channel, table.header, kind, shown, table.header_line, originals)
    except BaseException:
        table.close()
        raise
    return table, cls, mapping, originals


def _read_file(logger: _Logger, shown: str, path: Path, kind: str | None,
               batch_size: int) -> Iterator[tuple[list[StoredActivity], list[ActivityRejection], str]]:
    opened, cls, mapping, originals = _open(logger, shown, path, kind)
    with opened as table:
        header_of = {field: originals.get(h, h) for h, field in mapping.items()}
        pairs = list(mapping.items())
        rows: list[StoredActivity] = []
        rejections: list[ActivityRejection] = []
        for item in table:
            where = f"{shown}:{item.line}"
            if isinstance(item, RejectedRow):
                rejections.append(ActivityRejection(where, item.reason, item.column, digest=row_digest(item.raw)))
            else:
                values = item.values
                try:
                    record = cls.from_row({field: values[h] for h, field in pairs})
                    rows.append(logger.stored(record, where))
                except RowProblem as exc:
                    rejections.append(ActivityRejection(where, exc.reason, header_of.get(exc.field, exc.field),
                                                        digest=row_digest(item.text)))
                except ValueError as exc:
                    rejections.append(ActivityRejection(where, str(exc), digest=row_digest(item.text)))
            if len(rows) + len(rejections) >= batch_size:
                yield rows, rejections, cls.kind
                rows, rejections = [], []
        yield rows, rejections, cls.kind


def log_files(campaign: Campaign, store: ActivityStore, key: str, files: Sequence[Path], *,
              clock: Clock, kind: str | None = None, batch_size: int = 5000) -> LogReport:
    """Log CSV/.xlsx ``files`` for channel ``key``; return the counts per file.

    The record kind of each file is found from its header (the kind whose required
    columns it has, the one matching most columns) unless ``kind`` is given.  A header
    that fits no kind, or a missing file, is a ``DataError`` raised before any file is
    logged (every file's header is checked first); a ``kind`` the channel does not take
    is a ``ConfigError``; a bad row is a rejection, counted and stored, never raised.
    A file given more than once is logged once.
    """
    channel = activity_channel(campaign, key)
    if kind is not None:
        try:
            channel.record_class(kind)
        except KeyError as exc:
            raise ConfigError(f"channel {key!r}: {exc.args[0]}", source=campaign.source,
                              key=f"channels.{key}") from None
    logger = _Logger(campaign, channel, key)
    unique: list[Path] = []
    for path in files:  # a file given twice is logged (and reported) once
        if not any(same_file(Path(path), Path(seen)) for seen in unique):
            unique.append(path)
    files = unique
    for path in files:  # every file found and fitting a record kind before any is logged
        _open(logger, str(path), Path(path), kind)[0].close()
    now = timestamp_of(clock)
    counts: dict[str, FileCounts] = {}
    kept: dict[str, tuple[ActivityRejection, ...]] = {}
    for path in files:
        shown = str(path)
        started = now()
        read = accepted = duplicates = rejected = 0
        first: list[ActivityRejection] = []
        record_kind = ""
        for rows, rejections, batch_kind in _read_file(logger, shown, Path(path), kind, batch_size):
            record_kind = batch_kind
            result = store.store_batch(key, rows, rejections, now())
            read += len(rows) + len(rejections)
            accepted += result.accepted
            duplicates += result.duplicates
            rejected += len(rejections)
            first.extend(rejections[: REJECTIONS_KEPT - len(first)])
        counts[shown] = FileCounts(read, accepted, duplicates, rejected, record_kind)
        kept[shown] = tuple(first)
        store.record_log(LogRecord(key, shown, started, now(), read, accepted, duplicates, rejected))
    return LogReport(channel=key, files=counts, rejections=kept)


def log_records(campaign: Campaign, store: ActivityStore, key: str, records: Iterable[ActivityRecord], *,
                clock: Clock, source: str = "code") -> FileCounts:
    """Log records built in code for channel ``key`` (one transaction); ``source`` says
    where they come from (``source[i]`` is each record's location).  Records of a kind
    the channel does not take, outside the campaign period or without a reach figure are
    rejected (counted and stored), like bad file rows."""
    channel = activity_channel(campaign, key)
    logger = _Logger(campaign, channel, key)
    kinds = {c.kind: c for c in channel.activity_records}
    rows: list[StoredActivity] = []
    rejections: list[ActivityRejection] = []
    for i, record in enumerate(records):
        where = f"{source}[{i}]"
        digest = row_digest(repr(record))
        if kinds.get(record.kind) is not type(record):
            rejections.append(ActivityRejection(where, f"{type(record).__qualname__} is not a record kind of "
                                                       f"channel {key!r} (takes: {', '.join(kinds)})", digest=digest))
            continue
        try:
            rows.append(logger.stored(record, where))
        except RowProblem as exc:
            rejections.append(ActivityRejection(where, exc.reason, exc.field, digest=digest))
        except ValueError as exc:
            rejections.append(ActivityRejection(where, str(exc), digest=digest))
    now = timestamp_of(clock)
    started = now()
    result = store.store_batch(key, rows, rejections, started)
    counts = FileCounts(len(rows) + len(rejections), result.accepted, result.duplicates, len(rejections))
    store.record_log(LogRecord(key, source, started, now(), counts.read, counts.accepted,
                               counts.duplicates, counts.rejected))
    return counts


class StoreView:
    """One channel's stored records, decoded (the ``ActivityView`` of ``check_activity``)."""

    def __init__(self, store: ActivityStore, key: str, channel: ActivityChannel,
                 days: Sequence[DayCount] = ()) -> None:
        self._store = store
        self._key = key
        self._channel = channel
        self._days = days
        self._cache: dict[str, list[ActivityRecord]] = {}

    def day_counts(self, kind: str) -> list[DayCount]:
        return [d for d in self._days if d.kind == kind]

    def records(self, kind: str) -> Iterator[ActivityRecord]:
        """The channel's records of ``kind``, decoded once per view (kept for the next call)."""
        cached = self._cache.get(kind)
        if cached is None:
            cls = self._channel.record_class(kind)
            cached = self._cache[kind] = [decode_record(data, cls)
                                          for data, _source in self._store.record_data(self._key, kind)]
        return iter(cached)


@attrs.frozen
class ActivityStatus:
    """What ``activity status`` shows (see ``as_dict`` for the JSON shape)."""

    start: dt.date
    end: dt.date
    channels: Mapping[str, Mapping[str, Any]]
    reach_by_district: Mapping[str, int]
    summaries: Mapping[str, Any]
    rejected: int

    @property
    def reach(self) -> int:
        return sum(int(c["reach"]) for c in self.channels.values())

    def as_dict(self) -> dict[str, Any]:
        """``{"from", "to", "reach", "channels": {KEY: {"kind", "records", "records_by_kind",
        "reach", "reach_records", "cadence_gaps", "warnings", "warning_count"}},
        "reach_by_district", "training", "rejected"}``; ``training`` (and any other
        channel summary) is at the top level."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "reach": self.reach,
                "channels": {k: dict(v) for k, v in self.channels.items()},
                "reach_by_district": dict(self.reach_by_district), **self.summaries,
                "rejected": self.rejected}


def activity_status(campaign: Campaign, store: ActivityStore, *, start: dt.date | None = None,
                    end: dt.date | None = None) -> ActivityStatus:
    """Records, reach, cadence gaps and warnings of every activity channel in ``start``..``end``
    (default: the campaign period), reach per district, and the channels' summaries."""
    first = start or campaign.period.start
    last = end or campaign.period.end
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    import pendulum

    period = Period(pendulum.Date(first.year, first.month, first.day),
                    pendulum.Date(last.year, last.month, last.day), campaign.period.timezone)
    # cadence is due inside the campaign only: the part of the period asked for within it
    due = Period(max(period.start, campaign.period.start), min(period.end, campaign.period.end),
                 campaign.period.timezone) if first <= campaign.period.end and last >= campaign.period.start else None
    sums = store.reach_sums(first, last)
    counts = store.record_counts(first, last)
    channels: dict[str, dict[str, Any]] = {}
    by_district: dict[str, int] = {}
    summaries: dict[str, Any] = {}
    for key, plan in campaign.channels.items():
        channel = plan.channel
        if not is_activity_channel(channel):
            continue
        assert isinstance(channel, ActivityChannel)
        reach = reach_n = 0
        for chan, district, n, total in sums:
            if chan == key:
                reach += total
                reach_n += n
                name = district or "unknown"
                by_district[name] = by_district.get(name, 0) + total
        for record in channel.stored_reach(key, campaign, period):
            if first <= record.day <= last:
                reach += record.count
                reach_n += 1
                name = record.district_code or "unknown"
                by_district[name] = by_district.get(name, 0) + record.count
        days = store.day_counts(key, first, last)
        gaps: list[CadenceGap] = channel.cadence_gaps(days, due, key=key) if due is not None else []
        view = StoreView(store, key, channel, days)
        warnings = channel.check_activity(view, campaign, period, key=key)
        for name, value in channel.summary(view, campaign, period, key=key).items():
            summaries[name] = value
        by_kind = counts.get(key, {})
        channels[key] = {
            "kind": plan.kind, "records": sum(by_kind.values()), "records_by_kind": by_kind,
            "reach": reach, "reach_records": reach_n,
            "cadence_gaps": [g.as_dict() for g in gaps],
            "warning_count": len(warnings), "warnings": warnings[:WARNINGS_KEPT],
        }
    summaries.setdefault("training", {"members": 0, "trained": 0, "percent": None})
    rejected = sum(store.rejected().values())
    ordered = dict(sorted(by_district.items(), key=lambda kv: (kv[0] == "unknown", kv[0])))
    return ActivityStatus(first, last, channels, ordered, summaries, rejected)
