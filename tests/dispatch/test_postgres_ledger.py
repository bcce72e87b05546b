"""The ledger on PostgreSQL (issue 12): ``sms send``/``status`` through a ``postgresql://``
ledger key, passwords kept out of the campaign file, the store URL seam, migrations, and
claims from two handles at once (both backends)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from langson_comms import Campaign
from langson_comms.errors import CampaignFileError, LedgerError
from langson_comms.runtime import Runtime
from langson_comms.sms.ledger import Ledger, open_ledger
from langson_comms.sms.ledger.postgres import SCHEMA_VERSION, PostgresLedger
from langson_comms.store_url import store_location
from langson_comms.testing.postgres import ThrowawayPostgres

from .conftest import load
from .helpers import CLI, free_port
from .test_crash_resume import write_campaign


def _pg_campaign(folder: Path, sim: Any, url: str, *, n: int, extra: str = "") -> None:
    path = write_campaign(folder, sim, n=n, rate=2000, max_batch=20)
    text = path.read_text(encoding="utf-8").replace('ledger = "work/ledger.sqlite"',
                                                    f'ledger = "{url}"\n{extra}')
    path.write_text(text, encoding="utf-8")


def test_sms_send_and_status_on_a_postgresql_ledger(tmp_path: Path, carrier_simulator: Any,
                                                    postgres_url: str) -> None:
    sim = carrier_simulator(honour_idempotency=True)
    _pg_campaign(tmp_path, sim, postgres_url, n=300)
    sent = subprocess.run([CLI, "sms", "send", "campaign.toml", "--audience", "prepared.csv",
                           "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert sent.returncode == 0, sent.stderr
    assert len(sim.accepted_snapshot()) == 300 and sim.duplicates() == {}
    assert not (tmp_path / "work").exists()  # nothing went to a SQLite file
    status = subprocess.run([CLI, "sms", "status", "campaign.toml", "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert '"accepted": 300' in status.stdout or '"delivered": 300' in status.stdout
    with open_ledger(postgres_url) as ledger:
        counts = ledger.counts("crash", "invite")
    assert counts["accepted"] + counts["delivered"] == 300


def test_a_password_in_the_ledger_url_is_refused_at_validate_without_quoting_it(
        tmp_path: Path, carrier_simulator: Any) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), "postgresql://lang:S3cretPw@db.example:5432/x",
                 n=1)
    result = subprocess.run([CLI, "validate", "campaign.toml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "channels.sms.ledger" in result.stderr
    assert "password" in result.stderr and "S3cretPw" not in result.stderr + result.stdout


def _load(folder: Path) -> Campaign:
    runtime = Runtime.create(entry_points=False, env={})
    return runtime.load_campaign(folder / "campaign.toml")


@pytest.mark.parametrize(("ledger", "extra", "key", "expected"), [
    ("postgresql://lang@db:5432/x?password=pw", "", "channels.sms.ledger", "password"),
    ("mysql://lang@db/x", "", "channels.sms.ledger", "postgresql://user@host:port/database"),
    ("sqlite://work/l.sqlite", "", "channels.sms.ledger", "sqlite:///relative/path"),
    ("work/l.sqlite", 'ledger_password_env = "PW"', "channels.sms.ledger_password_env",
     "this ledger is a file"),
])
def test_ledger_values_are_checked_with_a_located_error(
        tmp_path: Path, carrier_simulator: Any, ledger: str, extra: str, key: str,
        expected: str) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), ledger, n=1, extra=extra)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    assert key in str(caught.value) and expected in str(caught.value)
    assert "pw" not in str(caught.value).replace("password", "")


def test_stores_without_a_server_backend_say_so(tmp_path: Path, carrier_simulator: Any) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), "work/l.sqlite", n=1)
    path = tmp_path / "campaign.toml"
    path.write_text(path.read_text(encoding="utf-8")
                    + '\n[signups]\nstore = "postgresql://lang@db/x"\n', encoding="utf-8")
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    assert "signups.store" in str(caught.value)
    assert "not supported yet for the sign-up store" in str(caught.value)


def test_store_urls_and_paths_mean_the_same_file(tmp_path: Path) -> None:
    assert store_location("sqlite:///work/l.sqlite", base_dir=tmp_path).path == \
        tmp_path / "work" / "l.sqlite"
    assert store_location(f"sqlite:///{tmp_path}/l.sqlite").path == tmp_path / "l.sqlite"
    assert store_location("work/l.sqlite", base_dir=tmp_path).path == tmp_path / "work/l.sqlite"
    pg = store_location("postgresql://lang:pw@db.example:5433/ledger")
    assert pg.path is None and pg.describe() == "postgresql://lang@db.example:5433/ledger"


def test_an_unreachable_server_is_a_ledger_error_naming_it_without_the_password() -> None:
    port = free_port()
    with pytest.raises(LedgerError) as caught:
        open_ledger(f"postgresql://lang:S3cret@127.0.0.1:{port}/x", timeout=2)
    assert f"postgresql://lang@127.0.0.1:{port}/x" in str(caught.value)
    assert "S3cret" not in str(caught.value)
    with pytest.raises(LedgerError, match="LEDGER_PW is not set"):
        open_ledger(f"postgresql://lang@127.0.0.1:{port}/x", password_env="LEDGER_PW",
                    environ={})


def test_migrations_run_once_when_processes_open_an_empty_database_at_once(
        postgres_url: str) -> None:
    opened: list[PostgresLedger] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            opened.append(PostgresLedger(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == [] and len(opened) == 4
        assert opened[0].schema_version() == SCHEMA_VERSION
    finally:
        for store in opened:
            store.close()
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT component, version FROM schema_version").fetchall()
    assert rows == [("sms_ledger", v) for v in range(1, SCHEMA_VERSION + 1)]


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    PostgresLedger(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (component, version, description)"
                     " VALUES ('sms_ledger', 999, 'from the future')")
    with pytest.raises(LedgerError, match="newer than this version"):
        PostgresLedger(postgres_url)


def test_two_handles_claiming_at_once_never_get_the_same_row(
        ledger_factory: Callable[[], Ledger]) -> None:
    first, second = ledger_factory(), ledger_factory()
    load(first, 3000)
    got: dict[int, list[int]] = {0: [], 1: []}

    def drain(i: int, store: Ledger) -> None:
        while rows := store.claim("c", "m", now=1e10, limit=50):
            got[i].extend(r.id for r in rows)

    threads = [threading.Thread(target=drain, args=(i, s)) for i, s in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not set(got[0]) & set(got[1])
    assert len(got[0]) + len(got[1]) == 3000
    assert first.counts("c", "m")["submitted"] == 3000


def test_the_throwaway_server_stops_and_leaves_nothing(postgres_server: ThrowawayPostgres) -> None:
    server = ThrowawayPostgres(postgres_server.bindir).start()  # a second one, stopped here
    data = server.data_dir
    url = server.create_database("once")
    with open_ledger(url) as ledger:
        assert ledger.counts("c")["queued"] == 0
    server.stop()
    assert not data.exists()
    with pytest.raises(LedgerError):
        open_ledger(url, timeout=2)


def test_without_postgresql_the_tests_skip_with_the_reason_unless_it_is_required(
        tmp_path: Path) -> None:
    (tmp_path / "test_needs_pg.py").write_text(
        "def test_pg(postgres_url):\n    pass\n", encoding="utf-8")
    env = {**os.environ, "LANGSON_POSTGRES_BINDIR": str(tmp_path / "nowhere")}
    env.pop("LANGSON_REQUIRE_POSTGRES", None)
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
               "test_needs_pg.py"]
    skipped = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert skipped.returncode == 0, skipped.stdout
    assert "1 skipped" in skipped.stdout and "no PostgreSQL server binaries" in skipped.stdout
    required = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120, env={**env, "LANGSON_REQUIRE_POSTGRES": "1"})
    assert required.returncode == 1, required.stdout
    assert "PostgreSQL is required (LANGSON_REQUIRE_POSTGRES=1)" in required.stdout
