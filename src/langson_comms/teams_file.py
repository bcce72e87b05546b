"""The teams file a campaign names (``[teams] file``): one team member per row.

Its own module because it is a reader of a person's file (through the one table reader,
``langson_comms.tabular``), not part of the TOML loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .campaign import Team, TeamMember
from .errors import DataError
from .regions import Level, RegionRegistry, canonical_code
from .tabular import RejectedRow, read_table

__all__ = ["TEAM_COLUMNS", "read_teams_csv"]

_TRUE = {"1", "true", "yes", "y", "x", "có", "co", "đã", "da"}
_FALSE = {"", "0", "false", "no", "n", "không", "khong", "chưa", "chua"}
TEAM_COLUMNS = ("team_code", "team_name", "commune_code", "member_name", "member_phone", "trained")


def read_teams_csv(path: Path, regions: RegionRegistry) -> tuple[Team, ...]:
    """Read one member per row: ``team_code,team_name,commune_code,member_name,member_phone,trained``."""
    teams: dict[str, dict[str, Any]] = {}
    with read_table(path, allow_unknown=True, source=path.name) as table:
        missing = [c for c in TEAM_COLUMNS if c not in table.header]
        if missing:
            raise DataError(
                f"missing column(s) {', '.join(missing)} (expected {','.join(TEAM_COLUMNS)})",
                source=path.name,
                line=table.header_line,
            )
        for item in table:
            if isinstance(item, RejectedRow):
                raise item.error(path.name)
            row, line = item.values, item.line
            code = (row["team_code"] or "").strip()
            if not code:
                raise DataError("team_code is empty", source=path.name, line=line, column="team_code")
            trained_raw = (row["trained"] or "").strip().lower()
            if trained_raw not in _TRUE | _FALSE:
                raise DataError(
                    f"{row['trained']!r} is not yes/no (expected 1/0, true/false, yes/no, có/không)",
                    source=path.name,
                    line=line,
                    column="trained",
                )
            commune = (row["commune_code"] or "").strip()
            try:
                commune = canonical_code(commune)
            except ValueError as exc:
                raise DataError(str(exc), source=path.name, line=line, column="commune_code") from None
            if len(regions) and (
                commune not in regions or regions.get(commune).level is not Level.COMMUNE
            ):
                raise DataError(
                    f"{commune} is not a commune of the campaign's regions",
                    source=path.name,
                    line=line,
                    column="commune_code",
                )
            team = teams.setdefault(
                code, {"name": (row["team_name"] or code).strip(), "commune": commune, "members": []}
            )
            if team["commune"] != commune:
                raise DataError(
                    f"team {code} was in commune {team['commune']} on an earlier row, not {commune}",
                    source=path.name,
                    line=line,
                    column="commune_code",
                )
            team["members"].append(
                TeamMember(
                    name=(row["member_name"] or "").strip(),
                    trained=trained_raw in _TRUE,
                    phone=(row["member_phone"] or "").strip() or None,
                )
            )
    return tuple(
        Team(code=code, name=t["name"], commune_code=t["commune"], members=tuple(t["members"]))
        for code, t in teams.items()
    )
