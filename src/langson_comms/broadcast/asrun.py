"""Proof of airing: as-run confirmations, their store, and compliance against the plan.

Stations without internet confirm on paper or by phone and someone types the rows in
(CSV); IP stations post them to the HTTP endpoint (``asrun_server``).  Both go through
one ``ConfirmationChecker`` and into one SQLite ``AsRunStore``.  Nothing is lost: every
row read is either accepted or rejected with its file, line, column and reason, and
rejections are stored too, so ``read = accepted + rejected`` holds and can be checked
later.

Compliance matches each station's confirmations to its planned airings of the same
item: on the planned day inside the window is **on time**; up to ``grace_days`` later,
or outside the window, is **late**; a confirmation that matches nothing is
**unplanned**; a planned airing still unconfirmed ``grace_days`` after its day is
**missed**, before that it is **pending**.  So ``planned = aired + missed + pending``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType

import attrs
import pendulum

from ..config import parse_local_time
from ..errors import DataError, LedgerError
from ..tabular import RejectedRow, read_table
from ._csv import parse_date
from .reach import reach
from .scheduler import Airing, ItemKind, Schedule
from .stations import StationRegistry

__all__ = [
    "AsRunStore",
    "ComplianceReport",
    "Confirmation",
    "ConfirmationChecker",
    "IngestReport",
    "Rejection",
    "RowProblem",
    "Tally",
    "compliance",
    "ingest_csv",
]

CONFIRMATION_COLUMNS = ("station", "date", "time", "item")
CONFIRMATION_OPTIONAL = ("confirmed_by", "via", "note")
VIAS = ("paper", "phone", "ip", "csv")


@attrs.frozen
class Confirmation:
    """A station says it aired ``item`` on ``day`` at local ``time``."""

    station: str
    day: pendulum.Date
    time: dt.time
    item: str
    via: str = "paper"
    source: str = ""
    line: int | None = None
    confirmed_by: str = ""
    note: str = ""


@attrs.frozen
class Rejection:
    """A row that was not accepted, and exactly where and why."""

    source: str
    line: int | None
    column: str | None
    value: str | None
    reason: str

    def format(self) -> str:
        return str(DataError(self.reason, source=self.source, line=self.line, column=self.column))


@attrs.frozen
class IngestReport:
    """Counts of one ingest: ``read == accepted + len(rejected)`` always."""

    source: str
    read: int
    accepted: int
    rejected: tuple[Rejection, ...]

    def __attrs_post_init__(self) -> None:
        if self.read != self.accepted + len(self.rejected):
            raise AssertionError(f"{self.source}: {self.read} read ≠ {self.accepted} + {len(self.rejected)}")


class RowProblem(ValueError):
    """One row's problem: ``column`` and ``value`` say where."""

    def __init__(self, reason: str, column: str | None = None, value: str | None = None) -> None:
        self.reason = reason
        self.column = column
        self.value = value
        super().__init__(reason)


class ConfirmationChecker:
    """Checks raw confirmation fields against the stations and the plan's period and items."""

    def __init__(
        self,
        schedule: Schedule,
        stations: StationRegistry,
        *,
        items: Iterable[str] = (),
        today: dt.date | None = None,
    ) -> None:
        self.schedule = schedule
        self.stations = stations
        self.items = set(items) | {a.item for a in schedule.airings}
        self.today = today

    def check(self, row: Mapping[str, str], *, via: str, source: str, line: int | None) -> Confirmation:
        text = (row.get("station") or "").strip()
        try:
            day = parse_date(row.get("date") or "")
        except ValueError as exc:
            raise RowProblem(str(exc), "date", row.get("date")) from None
        station = self.stations.find(text, on=day)
        if station is None:
            raise RowProblem(f"{text!r} is not a station of this campaign", "station", text)
        if not self.schedule.start <= day <= self.schedule.end:
            raise RowProblem(
                f"{day} is outside the plan ({self.schedule.start} to {self.schedule.end})", "date", row.get("date")
            )
        if self.today is not None and day > self.today:
            raise RowProblem(f"{day} is in the future (today is {self.today})", "date", row.get("date"))
        try:
            time = parse_local_time(row.get("time") or "")
        except ValueError as exc:
            raise RowProblem(str(exc), "time", row.get("time")) from None
        item = (row.get("item") or "").strip()
        if item not in self.items:
            raise RowProblem(
                f"{item!r} is no sketch or bulletin of the plan (known: {', '.join(sorted(self.items))})",
                "item",
                item,
            )
        given_via = (row.get("via") or via).strip().lower()
        if given_via not in VIAS:
            raise RowProblem(f"{given_via!r} is not a way to confirm (expected {', '.join(VIAS)})", "via", given_via)
        return Confirmation(
            station=station.code,
            day=day,
            time=time,
            item=item,
            via=given_via,
            source=source,
            line=line,
            confirmed_by=(row.get("confirmed_by") or "").strip(),
            note=(row.get("note") or "").strip(),
        )


_SCHEMA = """
CREATE TABLE IF NOT EXISTS confirmations (
    id INTEGER PRIMARY KEY,
    station TEXT NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    item TEXT NOT NULL,
    via TEXT NOT NULL,
    source TEXT NOT NULL,
    line INTEGER,
    confirmed_by TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    UNIQUE (station, day, time, item)
);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    line INTEGER,
    column_name TEXT,
    value TEXT,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    read INTEGER NOT NULL,
    accepted INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
"""


class AsRunStore:
    """Confirmations and rejections in one SQLite file (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{path}: cannot open the as-run store: {exc}") from exc
        self._in_transaction = False

    def __enter__(self) -> AsRunStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside is committed together, or not at all on an error."""
        if self._in_transaction:
            raise LedgerError(f"{self.path}: a transaction is already open")
        self._in_transaction = True
        try:
            with self._db:  # commits on success, rolls back on any exception
                yield
        finally:
            self._in_transaction = False

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write: its own transaction, or part of the open ``transaction()``."""
        if self._in_transaction:
            yield
        else:
            with self._db:
                yield

    def existing(self, c: Confirmation) -> tuple[str, int | None] | None:
        """Where an identical confirmation was recorded before, if one was."""
        row = self._db.execute(
            "SELECT source, line FROM confirmations WHERE station=? AND day=? AND time=? AND item=?",
            (c.station, c.day.isoformat(), c.time.strftime("%H:%M"), c.item),
        ).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def add(self, c: Confirmation, *, at: dt.datetime) -> None:
        """Record a confirmation; ``RowProblem`` if an identical one is already there."""
        found = self.existing(c)
        if found is not None:
            where = found[0] + (f":{found[1]}" if found[1] else "")
            raise RowProblem(f"duplicate: already confirmed by {where}", None, None)
        with self._writing():
            self._db.execute(
                "INSERT INTO confirmations (station, day, time, item, via, source, line, confirmed_by,"
                " note, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    c.station, c.day.isoformat(), c.time.strftime("%H:%M"), c.item, c.via,
                    c.source, c.line, c.confirmed_by, c.note, at.isoformat(),
                ),
            )  # fmt: skip

    def reject(self, r: Rejection, *, at: dt.datetime) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO rejections (source, line, column_name, value, reason, recorded_at) VALUES (?,?,?,?,?,?)",
                (r.source, r.line, r.column, r.value, r.reason, at.isoformat()),
            )

    def record_ingest(self, report: IngestReport, *, at: dt.datetime) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO ingests (source, read, accepted, rejected, recorded_at) VALUES (?,?,?,?,?)",
                (report.source, report.read, report.accepted, len(report.rejected), at.isoformat()),
            )

    def confirmations(self) -> list[Confirmation]:
        rows = self._db.execute(
            "SELECT station, day, time, item, via, source, line, confirmed_by, note FROM confirmations"
            " ORDER BY day, time, station"
        ).fetchall()
        # a plan has ~200 days and a few times for ~15,000 airings: each text is parsed
        # once (dates and times are immutable, so the rows share them)
        days = {text: parse_date(text) for text in {r[1] for r in rows}}
        times = {text: parse_local_time(text) for text in {r[2] for r in rows}}
        return [
            Confirmation(
                station=r[0],
                day=days[r[1]],
                time=times[r[2]],
                item=r[3],
                via=r[4],
                source=r[5],
                line=r[6],
                confirmed_by=r[7],
                note=r[8],
            )
            for r in rows
        ]

    def rejections(self) -> list[Rejection]:
        rows = self._db.execute(
            "SELECT source, line, column_name, value, reason FROM rejections ORDER BY id"
        ).fetchall()
        return [Rejection(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        one = self._db.execute
        return {
            "confirmations": one("SELECT COUNT(*) FROM confirmations").fetchone()[0],
            "rejections": one("SELECT COUNT(*) FROM rejections").fetchone()[0],
        }


def ingest_csv(path: Path, store: AsRunStore, checker: ConfirmationChecker, *, at: dt.datetime) -> IngestReport:
    """Read a confirmations CSV: keep every valid row, reject each bad one with its location.

    One transaction per file: the rows, rejections and the ingest record are stored
    together, or, when the file cannot be read to its end (a bad header, a malformed
    line: ``DataError``), nothing is.  Bad rows never stop the file.
    """
    with store.transaction():
        return _ingest(path, store, checker, at=at)


def _ingest(path: Path, store: AsRunStore, checker: ConfirmationChecker, *, at: dt.datetime) -> IngestReport:
    source = path.name
    read = accepted = 0
    rejected: list[Rejection] = []
    seen: dict[tuple[str, dt.date, dt.time, str], int] = {}
    for item in read_table(path, required=CONFIRMATION_COLUMNS,
                           optional=CONFIRMATION_OPTIONAL, source=str(path)):
        read += 1
        if isinstance(item, RejectedRow):
            rejection = Rejection(source, item.line, item.column, item.raw, item.reason)
            store.reject(rejection, at=at)
            rejected.append(rejection)
            continue
        line, row = item.line, item.values
        try:
            conf = checker.check(row, via="paper", source=source, line=line)
            key = (conf.station, conf.day, conf.time, conf.item)
            if key in seen:
                raise RowProblem(f"duplicate of line {seen[key]}")
            store.add(conf, at=at)
            seen[key] = line
            accepted += 1
        except RowProblem as problem:
            rejection = Rejection(source, line, problem.column, problem.value, problem.reason)
            store.reject(rejection, at=at)
            rejected.append(rejection)
    report = IngestReport(source=source, read=read, accepted=accepted, rejected=tuple(rejected))
    store.record_ingest(report, at=at)
    return report


# --- compliance -----------------------------------------------------------------------------


@attrs.define
class Tally:
    """Counts for one station, one district or the whole plan."""

    planned: int = 0
    aired: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    unplanned: int = 0
    aired_sketches: int = 0
    reach: int = 0

    def add(self, other: Tally) -> None:
        for field in attrs.fields(Tally):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def rate(self) -> float | None:
        """Aired share of what is due (aired + missed); None while nothing is due."""
        due = self.aired + self.missed
        return self.aired / due if due else None

    def as_dict(self) -> dict[str, int | float | None]:
        return {**attrs.asdict(self), "rate": self.rate}


@attrs.frozen
class ComplianceReport:
    as_of: pendulum.Date
    grace_days: int
    stations: Mapping[str, Tally]
    districts: Mapping[str, Tally]
    total: Tally
    missed: tuple[Airing, ...]
    unplanned: tuple[Confirmation, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "grace_days": self.grace_days,
            "total": self.total.as_dict(),
            "districts": {k: v.as_dict() for k, v in self.districts.items()},
            "stations": {k: v.as_dict() for k, v in self.stations.items()},
        }


def _on_time(airing: Airing, c: Confirmation) -> bool:
    if c.day != airing.day:
        return False
    window = airing.window
    if window is None or airing.priority.value == "emergency":
        return True
    return window.start <= c.time < window.end


def compliance(
    schedule: Schedule,
    confirmations: Iterable[Confirmation],
    stations: StationRegistry,
    *,
    as_of: dt.date,
    grace_days: int = 3,
) -> ComplianceReport:
    """Compare confirmations with the plan, per station, per district and in total."""
    as_of = pendulum.Date(as_of.year, as_of.month, as_of.day)
    by_station: dict[str, list[Confirmation]] = {}
    for c in confirmations:
        by_station.setdefault(c.station, []).append(c)
    # dates compared as ordinals: pendulum's date arithmetic costs ~25 µs, once per
    # candidate airing of each of ~15,000 confirmations
    last_day = as_of.toordinal() - grace_days
    tallies: dict[str, Tally] = {}
    missed: list[Airing] = []
    unplanned: list[Confirmation] = []
    for station in stations:
        tally = Tally()
        planned = list(schedule.for_station(station.code))
        tally.planned = len(planned)
        sketch_ids = {a.item for a in planned if a.kind is ItemKind.SKETCH}
        open_items: dict[str, list[Airing]] = {}
        for a in sorted(planned, key=lambda a: a.start):
            open_items.setdefault(a.item, []).append(a)
        for c in sorted(by_station.pop(station.code, []), key=lambda c: (c.day, c.time)):
            candidates = open_items.get(c.item, [])
            day = c.day.toordinal()
            match = next((a for a in candidates if day - grace_days <= a.day.toordinal() <= day), None)
            if match is None:
                tally.unplanned += 1
                unplanned.append(c)
                if c.item in sketch_ids:
                    tally.aired_sketches += 1
                continue
            candidates.remove(match)
            tally.aired += 1
            if match.kind is ItemKind.SKETCH:
                tally.aired_sketches += 1
            if _on_time(match, c):
                tally.on_time += 1
            else:
                tally.late += 1
        for remaining in open_items.values():
            for a in remaining:
                if a.day.toordinal() < last_day:
                    tally.missed += 1
                    missed.append(a)
                else:
                    tally.pending += 1
        tally.reach = reach(station.listeners, tally.aired_sketches)
        tallies[station.code] = tally
    for rest in by_station.values():  # confirmations of stations no longer listed
        unplanned.extend(rest)
    districts: dict[str, Tally] = {}
    total = Tally()
    for station in stations:
        districts.setdefault(station.district_code, Tally()).add(tallies[station.code])
        total.add(tallies[station.code])
    return ComplianceReport(
        as_of=as_of,
        grace_days=grace_days,
        stations=tallies,
        districts=dict(sorted(districts.items(), key=lambda kv: int(kv[0]))),
        total=total,
        missed=tuple(missed),
        unplanned=tuple(unplanned),
    )
