"""Review of issue 12 (PostgreSQL ledger, several senders) as a careless or hostile user:
ledger values that are not what they look like, located errors, a server restarted while
a sender writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from langson_comms.errors import CampaignFileError, LedgerError
from langson_comms.sms.lease import SenderLease
from langson_comms.sms.ledger import open_ledger
from langson_comms.sms.ledger.postgres import PostgresLedger
from langson_comms.sms.ledger.postgres.base import ConnectionLost, reconnecting
from langson_comms.store_url import store_location
from langson_comms.testing.postgres import ThrowawayPostgres

from .test_crash_resume import start, wait_until
from .test_pg_senders import campaign, load, sent_once
from .test_postgres_ledger import _load, _pg_campaign


@pytest.fixture
def own_server(postgres_server: ThrowawayPostgres) -> Iterator[ThrowawayPostgres]:
    """A server of this test's own, to restart (the session's serves the other tests)."""
    with ThrowawayPostgres() as server:
        yield server


@pytest.mark.parametrize("value", [
    # libpq's keyword/value form: it would become a SQLite file named after the password
    "host=db.example port=5432 dbname=ledger user=lang password=S3cretPw",
    "dbname=ledger user=lang",
    # a URL with a slash missing: a folder "postgresql:" and a file, not the server
    "postgresql:/ledger",
    "postgres:ledger",
    "sqlite:work/l.sqlite",
])
def test_a_value_that_is_not_a_path_nor_a_url_is_refused_without_quoting_it(
        tmp_path: Path, carrier_simulator: Any, value: str) -> None:
    with pytest.raises(ValueError) as direct:
        store_location(value, base_dir=tmp_path)
    assert "S3cretPw" not in str(direct.value)
    _pg_campaign(tmp_path, carrier_simulator(), value, n=1)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    assert "channels.sms.ledger" in str(caught.value) and "campaign.toml:" in str(caught.value)
    assert "postgresql://user@host:port/database" in str(caught.value)
    assert "S3cretPw" not in str(caught.value)
    with pytest.raises(LedgerError):
        open_ledger(value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["campaign.toml", "prepared.csv"]


def test_an_unreadable_url_is_a_located_error(tmp_path: Path, carrier_simulator: Any) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), "postgresql://lang@[::1/ledger", n=1)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    text = str(caught.value)
    assert "channels.sms.ledger" in text and "campaign.toml:" in text
    assert "raised while reading" not in text


def test_a_newer_schema_is_refused_naming_the_server(postgres_url: str) -> None:
    PostgresLedger(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (component, version, description)"
                     " VALUES ('sms_ledger', 999, 'from the future')")
    with pytest.raises(LedgerError) as caught:
        PostgresLedger(postgres_url)
    assert str(caught.value).startswith(postgres_url.rsplit("/", 1)[0])
    assert "newer than this version" in str(caught.value)


def test_a_server_restarted_mid_send_is_waited_for_and_nothing_is_sent_twice(
        tmp_path: Path, carrier_simulator: Any, own_server: ThrowawayPostgres) -> None:
    n = 3000
    url = own_server.create_database("ledger")
    sim = carrier_simulator()  # does not de-duplicate: a resent row would show
    campaign(tmp_path, sim, url, rate=600, max_batch=20, timeout=15.0)
    load(url, n)
    proc = start(tmp_path, "resume", "campaign.toml", "--no-progress", "--json")
    try:
        wait_until(lambda: len(sim.accepted_snapshot()) >= n // 5 or proc.poll() is not None,
                   90)
        assert proc.poll() is None, proc.communicate()
        own_server.restart("fast")  # every session cut, the server gone for a moment
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    summary = json.loads(stdout)
    assert summary["outcome"] == "completed"
    assert summary["counts"]["accepted"] == n and sum(summary["counts"].values()) == n
    sent_once(sim, n)


class _Flaky(PostgresLedger):
    """Only what ``reconnecting`` reads: no server."""

    def __init__(self, cuts: list[bool]) -> None:  # noqa: D107 -- no super(): no server
        self.reconnect_for = 5.0
        self.cuts = cuts  # one per call: True = cut while committing, False = before
        self.calls = 0

    def _once(self) -> int:
        self.calls += 1
        if self.cuts:
            raise ConnectionLost("postgresql://x@db/l: cut", committing=self.cuts.pop(0))
        return self.calls


def test_a_write_cut_by_a_lost_connection_runs_again_but_a_claim_in_doubt_does_not() -> None:
    again = reconnecting()(_Flaky._once)
    in_doubt_not = reconnecting(in_doubt_too=False)(_Flaky._once)
    assert again(_Flaky([False, True])) == 3  # cut before and at commit: both repeated
    assert in_doubt_not(_Flaky([False])) == 2  # cut before its commit: nothing was done
    flaky = _Flaky([True])
    with pytest.raises(ConnectionLost):  # the claim may have been made: not made twice
        in_doubt_not(flaky)
    assert flaky.calls == 1
    gone = _Flaky([False] * 1000)
    gone.reconnect_for = 0.3
    with pytest.raises(LedgerError, match="cut"):  # a server that stays away: an error
        again(gone)


def test_a_read_only_role_reads_a_migrated_ledger(postgres_url: str) -> None:
    with open_ledger(postgres_url) as ledger:  # created and migrated by the owner
        load(postgres_url, 3)
        assert ledger.counts("crash", "invite")["queued"] == 3
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        role = f"reader_{postgres_url.rsplit('/', 1)[1]}"  # roles are the server's
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    reader = postgres_url.replace("://postgres@", f"://{role}@")
    with open_ledger(reader) as ledger:  # a dashboard: no DDL on open
        assert ledger.counts("crash", "invite")["queued"] == 3


def test_rows_claimed_without_a_lease_are_not_taken_back_by_another_claim(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import langson_comms.sms.ledger.postgres.senders as senders_module

    monkeypatch.setattr(senders_module, "RECOVER_EVERY", 0.0)  # every claim looks
    load(postgres_url, 20)
    with open_ledger(postgres_url) as first, open_ledger(postgres_url) as second:
        mine = {r.id for r in first.claim("crash", "invite", 1e10, 10)}
        theirs = {r.id for r in second.claim("crash", "invite", 1e10, 20)}
        assert len(mine) == 10 and len(theirs) == 10 and not mine & theirs
        assert second.counts("crash", "invite")["submitted"] == 20
        # taking them back is recover_in_flight's, asked for (as on SQLite: a crash)
        assert second.recover_in_flight("crash", "invite") == 20


def test_a_password_in_the_url_says_which_key_names_its_variable(
        tmp_path: Path, carrier_simulator: Any) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), "postgresql://lang:S3cretPw@db:5432/x", n=1)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    assert "ledger_password_env" in str(caught.value) and "S3cretPw" not in str(caught.value)


_STARTER = """
import sys
from langson_comms.sms.lease import SenderLease
from langson_comms.sms.ledger import open_ledger
with open_ledger(sys.argv[1]) as ledger, SenderLease(ledger, "crash", "invite", ttl=30,
                                                      renew_every=10):
    print("started")
"""


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0,
                    reason="needs unshare and root to make a PID namespace")
def test_a_sender_in_another_pid_namespace_of_the_same_host_name_leaves_live_senders_alone(
        postgres_url: str) -> None:
    """Two containers sharing the host's name (host networking) have PID namespaces of
    their own: a sender starting in one must not take a live sender of the other for
    dead (its pid is not there) and give its in-flight rows to be sent again."""
    load(postgres_url, 10)
    with open_ledger(postgres_url) as ledger, SenderLease(ledger, "crash", "invite", ttl=30,
                                                          renew_every=10):
        held = ledger.claim("crash", "invite", 1e10, 10)
        started = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", _STARTER,
             postgres_url], capture_output=True, text=True, timeout=120, check=False)
        assert started.returncode == 0 and "started" in started.stdout, started.stderr
        assert ledger.counts("crash", "invite")["submitted"] == len(held) == 10
        assert len(ledger.senders("crash", "invite")) == 1  # still registered


def test_starting_a_started_throwaway_server_again_is_refused_not_a_leaked_cluster(
        postgres_server: ThrowawayPostgres) -> None:
    """Accept: ``with ThrowawayPostgres() as pg: pg.start()`` (the context manager already
    starts it) ran initdb again and started a second cluster: the first was never stopped
    and outlived the program."""
    port, data = postgres_server.port, postgres_server.data_dir
    with pytest.raises(RuntimeError, match="already started"):
        postgres_server.start()
    assert (postgres_server.port, postgres_server.data_dir) == (port, data)
