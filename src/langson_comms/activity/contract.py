"""The channel activity contract: what a channel logs, how a log becomes reach, its cadence.

A channel class (contributed through ``register_channels``) takes part in activity
logging and reach counting by subclassing ``ActivityChannel`` next to its usual
configuration mixin::

    @attrs.frozen
    class SchoolRecord(ActivityRecord):
        kind: ClassVar[str] = "session"                       # the record kind
        columns: ClassVar[Mapping[str, tuple[str, ...]]] = {   # field -> accepted headers
            "school": ("school", "trường"), "date": ("date", "ngày"),
            "pupils": ("pupils", "số học sinh")}
        required: ClassVar[tuple[str, ...]] = ("school", "date", "pupils")

        school: str
        date: datetime.date
        pupils: int

        @classmethod
        def from_row(cls, values):                         # values: field -> cell text
            return cls(school=text(values, "school"), date=day(values, "date"),
                       pupils=count(values, "pupils"))

        @property
        def identity(self): return f"{self.school}|{self.date}"
        @property
        def day(self): return self.date

    @attrs.frozen
    class SchoolChannel(FromTable, ActivityChannel):
        name: ClassVar[str] = "school"
        activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = (SchoolRecord,)

        def reach(self, record, *, key, campaign, source):
            yield ReachRecord(record.day, key, record.pupils, "pupils present", source,
                              kind=self.name)

The contract (checked by ``langson_comms.testing.ActivityChannelContract``):

* ``activity_records``: the record classes the channel takes (subclasses of
  ``ActivityRecord``: frozen attrs classes with a ``kind``, the ``columns`` a file may
  hold with their English and Vietnamese headers, the ``required`` ones, ``from_row``
  raising ``RowProblem(field, reason)`` for a bad cell, an ``identity`` (two records
  with one identity are one record: logging a file twice adds nothing), a ``day``, and
  optionally a cadence ``group`` such as the outlet).
* ``reach(record, *, key, campaign, source)``: the ``ReachRecord``s of one record — one
  per day it reached people, ``method`` written out, ``source`` passed on (where the
  record was read, ``press.csv:12``); no I/O.  Days outside the campaign period are
  dropped when the record is logged.  A record the channel cannot count (an outlet it
  does not know, no audience figure) raises ``RowProblem(field, reason)``: the row is
  rejected naming the file's column of ``field``.
* ``cadence_gaps(days, period, *, key)``: the periods that miss the channel's cadence,
  from the number of records per (kind, group, day) (``DayCount``).  Default: none.
* ``check_activity(view, campaign, period, *, key)``: warnings (text) about the logged
  records, e.g. visits by untrained team members.  Default: none.
* ``stored_reach(key, campaign, period)``: reach the channel keeps in its own store
  (SMS ledger, broadcast as-run store), for channels that run work.  Default: none.
* ``summary(view, campaign, period, *, key)``: extra top-level entries of ``activity
  status`` (outreach gives ``training``).  Default: none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol, Self

import attrs

from ..reach import ReachRecord

if TYPE_CHECKING:
    from ..campaign import Campaign, Period

__all__ = [
    "ActivityChannel",
    "ActivityRecord",
    "ActivityView",
    "CadenceGap",
    "DayCount",
    "MAX_COUNT",
    "RowProblem",
    "count",
    "day",
    "is_activity_channel",
    "optional_count",
    "optional_text",
    "shown",
    "text",
    "weekly_gaps",
    "daily_gaps",
]


class RowProblem(ValueError):
    """A bad cell: ``field`` (the record field; the reader names the file's header) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


# --- cell parsers for ``from_row`` ---------------------------------------------------------

_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_INT = re.compile(r"^\d{1,15}$")
_SEPARATORS = re.compile(r"[\s.\-()+/]")
_LONG_DIGITS = re.compile(r"\d{9,}")

#: the largest count one row may give: a larger one is a phone number or a typo, not reach
MAX_COUNT = 99_999_999


def shown(value: str) -> str:
    """A cell as a rejection reason may quote it: ``repr``, unless it holds 9 digits or
    more (separators ignored), which may be a phone number: those are never repeated."""
    digits = _SEPARATORS.sub("", value)
    found = _LONG_DIGITS.search(digits)
    if found:
        return f"a {len(found[0])}-digit number (not repeated: it may be a phone number)"
    return repr(value)


def text(values: Mapping[str, str], field: str, *, limit: int = 500) -> str:
    """A non-empty text cell (at most ``limit`` characters)."""
    value = values.get(field, "").strip()
    if not value:
        raise RowProblem(field, f"{field} is empty (expected text)")
    if len(value) > limit:
        raise RowProblem(field, f"{field} is {len(value)} characters long (at most {limit})")
    return value


def optional_text(values: Mapping[str, str], field: str, *, limit: int = 500) -> str:
    """A text cell that may be empty or absent (``""`` then)."""
    value = values.get(field, "").strip()
    if len(value) > limit:
        raise RowProblem(field, f"{field} is {len(value)} characters long (at most {limit})")
    return value


def day(values: Mapping[str, str], field: str) -> dt.date:
    """A date: ISO ``2022-07-01`` or Vietnamese ``01/07/2022`` (a spreadsheet's date cell
    arrives as ISO, possibly with a time, which is dropped)."""
    value = values.get(field, "").strip()
    try:
        match = _VN_DATE.match(value)
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
        if value:
            return dt.date.fromisoformat(value[:10])
    except ValueError:
        pass
    raise RowProblem(field, f"{shown(value)} is not a date (expected YYYY-MM-DD or DD/MM/YYYY)"
                     if value else f"{field} is empty (expected a date, YYYY-MM-DD or DD/MM/YYYY)")


def _number(field: str, value: str) -> int:
    plain = value.replace(" ", "").replace("\u00a0", "")
    if plain.endswith(".0"):
        plain = plain[:-2]
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", plain):  # 12.000 or 12,000
        plain = plain.replace(".", "").replace(",", "")
    if not _INT.match(plain):
        raise RowProblem(field, f"{shown(value)} is not a whole number ≥ 0 (expected digits, e.g. 12000)")
    number = int(plain)
    if number > MAX_COUNT:
        raise RowProblem(field, f"{shown(value)} is more than {MAX_COUNT:,}: not the count of one row "
                                "(a phone number in this column?)")
    return number


def count(values: Mapping[str, str], field: str) -> int:
    """A whole number from 0 to ``MAX_COUNT`` (``12000``, ``12.000``, ``12,000``)."""
    value = values.get(field, "").strip()
    if not value:
        raise RowProblem(field, f"{field} is empty (expected a whole number ≥ 0)")
    return _number(field, value)


def optional_count(values: Mapping[str, str], field: str) -> int | None:
    """A whole number from 0 to ``MAX_COUNT``, or ``None`` when the cell is empty or absent."""
    value = values.get(field, "").strip()
    return _number(field, value) if value else None


# --- records -------------------------------------------------------------------------------


class ActivityRecord:
    """Base of activity record classes (frozen attrs subclasses; see the module docstring).

    ``kind``: the record kind (``item``, ``placement``…), unique within a channel.
    ``columns``: field → headers a file may use for it (compared without case, accents
    or punctuation; the field name itself is always accepted).  ``required``: the
    fields a file must have.  ``from_row`` builds a record from ``field → cell text``
    (absent optional fields are missing from the mapping) and raises ``RowProblem``.
    """

    kind: ClassVar[str] = ""
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    required: ClassVar[tuple[str, ...]] = ()
    #: records outside the campaign period are rejected unless this is False (training)
    within_period: ClassVar[bool] = True

    @classmethod
    def from_row(cls, values: Mapping[str, str]) -> Self:
        raise NotImplementedError(f"{cls.__qualname__} does not implement from_row()")

    @property
    def identity(self) -> str:
        """Text identifying the record: a second record with it is a duplicate."""
        raise NotImplementedError(f"{type(self).__qualname__} does not define identity")

    @property
    def day(self) -> dt.date:
        """The record's (first) local day."""
        raise NotImplementedError(f"{type(self).__qualname__} does not define day")

    @property
    def last_day(self) -> dt.date:
        """The record's last day (a placement's end); ``day`` by default."""
        return self.day

    @property
    def group(self) -> str | None:
        """What the cadence is checked per (an outlet, a page), or ``None``."""
        return None


class DayCount(NamedTuple):
    """Records of one ``kind`` and cadence ``group`` on one ``day``."""

    kind: str
    group: str | None
    day: dt.date
    records: int


@attrs.frozen
class CadenceGap:
    """A stretch ``start``..``end`` (inclusive) that misses the cadence: ``found`` records
    where ``expected`` were due, for ``group`` (an outlet, a page) or for the whole
    channel (``group`` ``None``); ``rule`` says which rule."""

    start: dt.date
    end: dt.date
    expected: int
    found: int
    rule: str
    group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "group": self.group,
                "expected": self.expected, "found": self.found, "rule": self.rule}


class ActivityView(Protocol):
    """What ``check_activity`` and ``summary`` may read from the store about one channel:
    its records of one kind (decoded: slow for many), or their counts per (group, day)
    inside the period asked for (fast)."""

    def records(self, kind: str) -> Iterator[ActivityRecord]: ...

    def day_counts(self, kind: str) -> list[DayCount]: ...


class ActivityChannel:
    """Mixin for channel classes that log activity and count reach (see the module docstring)."""

    activity_records: ClassVar[tuple[type[ActivityRecord], ...]] = ()

    def record_class(self, kind: str) -> type[ActivityRecord]:
        """The record class of ``kind``; ``KeyError`` naming the known kinds."""
        for cls in self.activity_records:
            if cls.kind == kind:
                return cls
        known = ", ".join(c.kind for c in self.activity_records) or "none"
        raise KeyError(f"no record kind {kind!r} (known: {known})")

    def reach(self, record: Any, *, key: str, campaign: Campaign, source: str) -> Iterable[ReachRecord]:
        """The reach records of one logged record (no I/O)."""
        return ()

    def cadence_gaps(self, days: Sequence[DayCount], period: Period, *, key: str) -> list[CadenceGap]:
        """The stretches of ``period`` that miss the channel's cadence."""
        return []

    def check_activity(self, view: ActivityView, campaign: Campaign, period: Period, *,
                       key: str) -> list[str]:
        """Warnings about the logged records."""
        return []

    def stored_reach(self, key: str, campaign: Campaign, period: Period) -> Iterable[ReachRecord]:
        """Reach kept in the channel's own store (SMS ledger, as-run store)."""
        return ()

    def summary(self, view: ActivityView, campaign: Campaign, period: Period, *,
                key: str) -> Mapping[str, Any]:
        """Extra top-level entries of ``activity status`` (outreach: ``training``)."""
        return {}


def is_activity_channel(channel: object) -> bool:
    """Whether a built channel takes part in the contract (subclasses ``ActivityChannel``)."""
    return isinstance(channel, ActivityChannel)


# --- cadence helpers -----------------------------------------------------------------------


def _monday(value: dt.date) -> dt.date:
    return value - dt.timedelta(days=value.weekday())


def weekly_gaps(days: Iterable[DayCount], start: dt.date, end: dt.date, minimum: int, *,
                groups: Iterable[str] = (), rule: str = "") -> list[CadenceGap]:
    """Weeks (Monday–Sunday, cut to ``start``..``end``) with fewer than ``minimum`` records,
    per group in ``groups`` (plus any group found) and in total (``group`` ``None``).
    Consecutive short weeks are separate gaps (each week has its own count)."""
    per_week: dict[str | None, dict[dt.date, int]] = {g: {} for g in groups}
    per_week[None] = {}
    for item in days:
        if not start <= item.day <= end:
            continue
        week = _monday(item.day)
        for group in (item.group, None) if item.group is not None else (None,):
            bucket = per_week.setdefault(group, {})
            bucket[week] = bucket.get(week, 0) + item.records
    gaps: list[CadenceGap] = []
    for group, weeks in per_week.items():
        week = _monday(start)
        while week <= end:
            found = weeks.get(week, 0)
            if found < minimum:
                gaps.append(CadenceGap(max(week, start), min(week + dt.timedelta(days=6), end),
                                       minimum, found, rule, group))
            week += dt.timedelta(days=7)
    return gaps


def daily_gaps(days: Iterable[DayCount], start: dt.date, end: dt.date, *,
               rule: str = "") -> list[CadenceGap]:
    """Runs of consecutive days in ``start``..``end`` without a record (one gap per run)."""
    seen = {d.day for d in days if d.records > 0}
    gaps: list[CadenceGap] = []
    run: dt.date | None = None
    current = start
    while current <= end:
        if current in seen:
            if run is not None:
                gaps.append(CadenceGap(run, current - dt.timedelta(days=1), 1, 0, rule))
                run = None
        elif run is None:
            run = current
        current += dt.timedelta(days=1)
    if run is not None:
        gaps.append(CadenceGap(run, end, 1, 0, rule))
    return gaps
