"""Administrative units keyed by official code, with validity dates.

Lạng Sơn's units changed in December 2024 and the district level went away in July
2025, so a unit is identified by its General Statistics Office code and the dates it
was valid, never by its name.  Codes are kept as digit strings without leading zeros
(``"05971"`` and ``"5971"`` are the same unit).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs
import pendulum

from .errors import DataError
from .tabular import RejectedRow, read_table

__all__ = ["Level", "Region", "RegionRegistry", "canonical_code"]


def canonical_code(value: object) -> str:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{value!r} is not an administrative code (expected digits)")
    return str(int(text))


class Level(enum.StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"

    @classmethod
    def parse(cls, value: str) -> Level:
        """Accept the GSO kinds too: city → district; ward, town (thị trấn), township → commune."""
        key = value.strip().lower()
        alias = {
            "city": "district",
            "town": "commune",
            "ward": "commune",
            "township": "commune",
            "commune": "commune",
        }.get(key, key)
        try:
            return cls(alias)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a level (expected province, district or commune)"
            ) from None


def _level(value: str | Level) -> Level:
    return value if isinstance(value, Level) else Level.parse(value)


def _optional_code(value: object) -> str | None:
    return None if value in (None, "") else canonical_code(value)


@attrs.frozen
class Region:
    """An administrative unit valid from ``valid_from`` to ``valid_to`` (inclusive; None = open)."""

    code: str = attrs.field(converter=canonical_code)
    name: str
    level: Level = attrs.field(converter=_level)
    parent_code: str | None = attrs.field(default=None, converter=_optional_code)
    valid_from: pendulum.Date | None = None
    valid_to: pendulum.Date | None = None

    def valid_on(self, day: pendulum.Date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


class RegionRegistry:
    """All known units; one code may appear several times with disjoint validity."""

    def __init__(self, regions: Iterable[Region] = ()) -> None:
        self._by_code: dict[str, list[Region]] = {}
        for region in regions:
            self.add(region)

    def add(self, region: Region) -> None:
        versions = self._by_code.setdefault(region.code, [])
        for other in versions:
            if _overlaps(other, region):
                raise ValueError(
                    f"unit {region.code} ({region.name}) overlaps an earlier entry "
                    f"({other.name}, {other.valid_from}–{other.valid_to})"
                )
        versions.append(region)

    def __iter__(self) -> Iterator[Region]:
        for versions in self._by_code.values():
            yield from versions

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_code.values())

    def __contains__(self, code: object) -> bool:
        try:
            return canonical_code(code) in self._by_code
        except ValueError:
            return False

    def get(self, code: object, on: pendulum.Date | None = None) -> Region:
        """The unit with ``code`` (valid ``on`` that day, when given); KeyError if none."""
        versions = self._by_code.get(canonical_code(code), [])
        for region in versions:
            if on is None or region.valid_on(on):
                return region
        raise KeyError(f"no unit with code {code}" + (f" valid on {on}" if on else ""))

    def children(self, code: object, on: pendulum.Date | None = None) -> list[Region]:
        parent = canonical_code(code)
        return [
            r
            for r in self
            if r.parent_code == parent and (on is None or r.valid_on(on))
        ]

    def at_level(self, level: Level, on: pendulum.Date | None = None) -> list[Region]:
        return [r for r in self if r.level is level and (on is None or r.valid_on(on))]

    @classmethod
    def from_csv(
        cls,
        path: Path,
        *,
        valid_from: pendulum.Date | None = None,
        valid_to: pendulum.Date | None = None,
    ) -> RegionRegistry:
        """Read ``code,name,level,parent_code[,valid_from,valid_to]`` rows.

        File-wide ``valid_from``/``valid_to`` apply to rows that give none.
        """
        registry = cls()
        with read_table(path, allow_unknown=True, source=str(path)) as table:
            missing = {"code", "name", "level"} - set(table.header)
            if missing:
                raise DataError(
                    f"missing column(s) {', '.join(sorted(missing))} "
                    "(expected code,name,level,parent_code[,valid_from,valid_to])",
                    source=str(path),
                    line=table.header_line,
                )
            for item in table:
                if isinstance(item, RejectedRow):
                    raise item.error(str(path))
                row, line = item.values, item.line
                try:
                    registry.add(
                        Region(
                            code=row["code"],
                            name=(row["name"] or "").strip(),
                            level=row["level"] or "",
                            parent_code=row.get("parent_code") or None,
                            valid_from=_date(row.get("valid_from")) or valid_from,
                            valid_to=_date(row.get("valid_to")) or valid_to,
                        )
                    )
                except ValueError as exc:
                    raise DataError(str(exc), source=str(path), line=line) from exc
        return registry


def _date(value: str | None) -> pendulum.Date | None:
    if not value:
        return None
    parsed = pendulum.Date.fromisoformat(value.strip())
    return pendulum.Date(parsed.year, parsed.month, parsed.day)


def _overlaps(a: Region, b: Region) -> bool:
    lo = pendulum.Date(1, 1, 1)
    hi = pendulum.Date(9999, 12, 31)
    return (a.valid_from or lo) <= (b.valid_to or hi) and (b.valid_from or lo) <= (a.valid_to or hi)
