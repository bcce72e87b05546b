"""Structuring configuration tables into attrs classes, with located errors.

Everything generic is cattrs's: this module adds strict scalar hooks (TOML's ``"5"``
is not an int), date and weekday hooks, and turns cattrs's exception groups into
``Problem``s whose key paths read like ``channels.broadcast.weekdays[2]``.

Plugin authors use ``ConfigContext.structure`` in their ``from_config`` classmethods
so that their errors look like the core's.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import attrs
import cattrs
import pendulum
from cattrs.cols import is_any_set, is_mapping, is_sequence
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn

from .campaign_file_limits import year_problem
from .errors import CampaignFileError, Problem

if TYPE_CHECKING:
    from .registry import Registry

__all__ = [
    "ConfigContext",
    "FromTable",
    "InvalidValue",
    "NOT_A_KEY",
    "Weekday",
    "above",
    "at_least",
    "at_most",
    "config_keys",
    "converter",
    "parse_local_time",
    "percentage",
]

T = TypeVar("T")

#: attrs field metadata marking a field the SDK sets (a source's ``key``, its
#: ``base_dir``, an injected client…), not the campaign file: ``metadata={NOT_A_KEY: True}``.
#: Such a field is left out of the keys an "unknown key" error lists (``config_keys``).
NOT_A_KEY = "langson_comms.not_a_key"


def config_keys(cls: type[Any]) -> list[str]:
    """The keys of an attrs class's campaign-file table, sorted: its fields, less those
    marked ``NOT_A_KEY``."""
    return sorted(a.name for a in attrs.fields(cls) if not a.metadata.get(NOT_A_KEY))


class Weekday(enum.IntEnum):
    """ISO weekday (Monday = 1).  Parsed from English names or Vietnamese ``thứ 2``…``chủ nhật``."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def parse(cls, value: object) -> Weekday:
        if isinstance(value, Weekday):
            return value
        if isinstance(value, str):
            key = " ".join(value.strip().lower().split())
            found = _WEEKDAY_NAMES.get(key)
            if found is not None:
                return found
        raise ValueError(
            f"{value!r} is not a weekday (expected monday … sunday, mon … sun, "
            "or thứ 2 … thứ 7, chủ nhật)"
        )


_WEEKDAY_NAMES: dict[str, Weekday] = {}
for _day in Weekday:
    _WEEKDAY_NAMES[_day.name.lower()] = _day
    _WEEKDAY_NAMES[_day.name.lower()[:3]] = _day
for _n in range(2, 8):
    _WEEKDAY_NAMES[f"thứ {_n}"] = Weekday(_n - 1)
    _WEEKDAY_NAMES[f"t{_n}"] = Weekday(_n - 1)
_WEEKDAY_NAMES.update({"chủ nhật": Weekday.SUNDAY, "cn": Weekday.SUNDAY})

_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_local_time(value: object) -> dt.time:
    """``"14:30"`` or a TOML local time → ``datetime.time``."""
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        match = _TIME_RE.match(value.strip())
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            return dt.time(int(match[1]), int(match[2]))
    raise ValueError(f"{value!r} is not a time of day (expected HH:MM, e.g. '14:30')")


class InvalidValue(ValueError):
    """Raised by validators: ``field`` is appended to the key path of the located error."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def at_least(minimum: int) -> Any:
    """An attrs validator: the value is a number ``>= minimum``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value < minimum:
            raise InvalidValue(attribute.name, f"{value!r} is too small (expected at least {minimum})")

    return check


def at_most(maximum: int) -> Any:
    """An attrs validator: the value is a number ``<= maximum``."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value > maximum:
            raise InvalidValue(attribute.name, f"{value!r} is too large (expected at most {maximum})")

    return check


def above(minimum: float) -> Any:
    """An attrs validator: the value is a number ``> minimum`` (``nan`` is not)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and not value > minimum:
            raise InvalidValue(attribute.name, f"{value!r} is too small (expected more than {minimum})")

    return check


def percentage(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An attrs validator: ``0 < value <= 100``."""
    if not 0 < value <= 100:
        raise InvalidValue(attribute.name, f"{value!r} is not a percentage (expected 0 < x ≤ 100)")


def _strict(kind: type[Any], label: str) -> Any:
    def hook(value: Any, _: type[Any]) -> Any:
        # bool is an int subclass; TOML true must not pass as 1.
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"{value!r} is not {label}")

    return hook


def _date(value: Any, _: type[Any]) -> pendulum.Date:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value!r} is a date-time; expected a date (YYYY-MM-DD)")
    if isinstance(value, dt.date):
        return pendulum.Date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            parsed = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            # A TOML date is checked with every other value of the file
            # (campaign_file_limits); a date written as a string is checked here.
            wrong_year = year_problem(repr(value), parsed.year)
            if wrong_year is not None:
                raise ValueError(wrong_year)
            return pendulum.Date(parsed.year, parsed.month, parsed.day)
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")


def _structure_enum(value: Any, cls: type[enum.Enum]) -> Any:
    if isinstance(value, cls):
        return value
    for member in cls:
        if member.value == value and type(value) is type(member.value):
            return member
    expected = ", ".join(repr(m.value) for m in cls)
    raise ValueError(f"{value!r} is not one of: {expected}")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "an integer"))
    conv.register_structure_hook(float, _strict(float, "a number"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(pendulum.Date, _date)
    conv.register_structure_hook(dt.date, _date)
    conv.register_structure_hook(dt.time, lambda v, _: parse_local_time(v))
    # StrEnum and IntEnum subclass str and int: without their own hooks, the strict str/int
    # hooks would let any text through unconverted (singledispatch follows the MRO).
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        conv.register_structure_hook(base, _structure_enum)
    conv.register_structure_hook(Weekday, lambda v, _: Weekday.parse(v))

    def table_only(cls: type[Any]) -> Any:
        inner = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True)

        def hook(value: Any, target: type[Any]) -> Any:
            if not isinstance(value, Mapping):
                raise ValueError(f"expected a table, got {type(value).__name__} {value!r}")
            return inner(value, target)

        return hook

    conv.register_structure_hook_factory(attrs.has, table_only)

    # cattrs structures any iterable into a list: the string "100" would become
    # ["1", "0", "0"].  Where a list is expected, a string (or a table) is refused.  The
    # wrapped hook is cattrs' own, found while this factory steps aside for that type.
    generating: set[Any] = set()

    def is_collection(cls: Any) -> bool:
        return (is_sequence(cls) or is_any_set(cls)) and cls not in generating

    def list_only(cls: Any) -> Any:
        generating.add(cls)
        try:
            inner = conv.get_structure_hook(cls, cache_result=False)
        finally:
            generating.discard(cls)

        def hook(value: Any, target: Any) -> Any:
            if isinstance(value, str | bytes | Mapping):
                what = "a string" if isinstance(value, str | bytes) else "a table"
                example = (f" (write {json.dumps([value], ensure_ascii=False)})"
                           if isinstance(value, str) else "")
                raise ValueError(f"{value!r} is {what}; expected a list{example}")
            return inner(value, target)

        return hook

    conv.register_structure_hook_factory(is_collection, list_only)

    # Likewise a table (``dict[str, ...]``): a list there was an AttributeError from cattrs.
    def is_table(cls: Any) -> bool:
        return is_mapping(cls) and cls not in generating

    def mapping_only(cls: Any) -> Any:
        generating.add(cls)
        try:
            inner = conv.get_structure_hook(cls, cache_result=False)
        finally:
            generating.discard(cls)

        def hook(value: Any, target: Any) -> Any:
            if not isinstance(value, Mapping):
                raise ValueError(f"expected a table, got {type(value).__name__} {value!r}")
            return inner(value, target)

        return hook

    conv.register_structure_hook_factory(is_table, mapping_only)
    return conv


#: The shared strict converter.  Register hooks for your own value types on a copy
#: (``converter.copy()``), not on this one.
converter = _make_converter()


def _problems(exc: BaseException, key: str) -> Iterator[Problem]:
    if isinstance(exc, ForbiddenExtraKeysError):
        expected = config_keys(exc.cl) if attrs.has(exc.cl) else []
        for extra in sorted(exc.extra_fields):
            where = f"{key}.{extra}" if key else extra
            yield Problem(where, f"unknown key (expected one of: {', '.join(expected)})")
        return
    if isinstance(exc, ClassValidationError | IterableValidationError):
        for sub in exc.exceptions:
            yield from _problems(sub, key + _note_path(sub))
        return
    if isinstance(exc, KeyError):
        yield Problem(key, "required key is missing")
        return
    if isinstance(exc, InvalidValue):
        yield Problem(f"{key}.{exc.field}" if key else exc.field, str(exc))
        return
    if len(exc.args) >= 2 and isinstance(exc.args[1], attrs.Attribute):
        # attrs' own validators (in_, …) pass the attribute as the second argument.
        name = exc.args[1].name
        yield Problem(f"{key}.{name}" if key else name, str(exc.args[0]))
        return
    message = str(exc) if isinstance(exc, ValueError | TypeError) else repr(exc)
    yield Problem(key, message)


def _note_path(exc: BaseException) -> str:
    for note in getattr(exc, "__notes__", ()):
        name = getattr(note, "name", None)
        if name is not None:
            return f".{name}"
        index = getattr(note, "index", None)
        if index is not None:
            return f"[{index}]" if isinstance(index, int) else f".{index}"
    return ""


@attrs.frozen
class ConfigContext:
    """Where a configuration table came from: the file, its folder, and the key path.

    ``structure`` builds an attrs class from a table and raises ``CampaignFileError``
    whose problems carry full key paths; ``error`` builds a located ``ConfigError``;
    ``resolve_file`` resolves a path relative to the campaign file and checks it exists.
    """

    source: str
    base_dir: Path
    key: str = ""
    #: the registry of the runtime loading the file, so a class can build the plugins its
    #: table names (e.g. the broadcast channel's scheduler) and check them at load time
    registry: Registry | None = attrs.field(default=None, eq=False, repr=False)

    def child(self, key: str | int) -> ConfigContext:
        if isinstance(key, int):
            return attrs.evolve(self, key=f"{self.key}[{key}]")
        return attrs.evolve(self, key=f"{self.key}.{key}" if self.key else key)

    def path(self, key: str | None = None) -> str:
        if not key:
            return self.key
        if key.startswith("["):
            return f"{self.key}{key}"
        return f"{self.key}.{key}" if self.key else key

    def error(self, message: str, key: str | None = None) -> CampaignFileError:
        return CampaignFileError(self.source, [Problem(self.path(key), message)])

    def structure(self, data: Any, cls: type[T], conv: cattrs.Converter | None = None) -> T:
        if not isinstance(data, Mapping) and attrs.has(cls):
            raise self.error(f"expected a table, got {type(data).__name__} {data!r}")
        try:
            return (conv or converter).structure(data, cls)
        except (ClassValidationError, IterableValidationError, ValueError, TypeError) as exc:
            problems = [
                attrs.evolve(p, key=p.key.lstrip(".")) for p in _problems(exc, self.key)
            ] or [Problem(self.key, str(exc))]
            raise CampaignFileError(self.source, problems) from exc

    def resolve_file(self, value: str, key: str | None = None) -> Path:
        path = Path(value)
        if not path.is_absolute():
            path = self.base_dir / path
        if not path.is_file():
            raise self.error(f"file {value!r} not found (looked for {path})", key)
        return path


class FromTable:
    """Mixin for attrs classes whose configuration table maps one-to-one onto their fields.

    Gives the ``from_config`` classmethod every contributed class needs:
    ``context.structure(config, cls)`` — strict types, unknown keys refused, located errors.
    """

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        return context.structure(config, cls)
