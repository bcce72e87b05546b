"""The reference campaign copied to a fresh folder (no stores yet), and a sign-up stored
in its sign-up store as ``signups ingest`` would store it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pendulum

from langson_comms.signups import SqliteSignupStore, StoredSignup

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022"
TZ = "Asia/Ho_Chi_Minh"
DAY = pendulum.date(2022, 7, 20)


def reference_copy(folder: Path) -> Path:
    """``folder/langson_2022`` with the campaign file and what it names; returns the campaign file."""
    target = folder / "langson_2022"
    shutil.copytree(REFERENCE, target, ignore=shutil.ignore_patterns(".langson", "out", "*.py", "signups"))
    return target / "campaign.toml"


def store_install(campaign_file: Path, external_id: str, team: str = "T5971", commune: str = "5971") -> None:
    """One install of ``team`` on ``DAY`` in the campaign's sign-up store (created if missing)."""
    when = pendulum.datetime(DAY.year, DAY.month, DAY.day, 10, tz=TZ).timestamp()
    path = campaign_file.parent / ".langson" / "signups.sqlite"
    path.parent.mkdir(exist_ok=True)
    with SqliteSignupStore(path) as store:
        store.store_batch("test", [StoredSignup("cong_dan_so_xu_lang", "install", external_id, when,
                                                DAY.isoformat(), None, None, commune, team, "team_code", team,
                                                commune, True, "test")], [], None, when)
