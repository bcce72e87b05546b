"""A PostgreSQL outage during ``sms resume`` does not print psycopg-pool's own log lines
(``discarding closed connection: <psycopg.Connection [BAD] at 0x…>``, ``error connecting
in 'langson-ledger': …``) on the CLI's stderr: the CLI keeps library warnings quiet unless
``--debug``; the send waits for the server and says nothing raw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langson_comms.testing.postgres import ThrowawayPostgres

from .test_crash_resume import start, wait_until
from .test_pg_review import own_server  # noqa: F401  (fixture)
from .test_pg_senders import campaign, load


def test_an_outage_mid_send_prints_no_raw_psycopg_pool_lines(
        tmp_path: Path, carrier_simulator: Any,
        own_server: ThrowawayPostgres) -> None:  # noqa: F811
    n = 2000
    url = own_server.create_database("ledger")
    sim = carrier_simulator()
    campaign(tmp_path, sim, url, rate=600, max_batch=20, timeout=15.0)
    load(url, n)
    proc = start(tmp_path, "resume", "campaign.toml", "--no-progress", "--json")
    try:
        wait_until(lambda: len(sim.accepted_snapshot()) >= n // 5 or proc.poll() is not None,
                   90)
        assert proc.poll() is None, proc.communicate()
        own_server.restart("fast")  # every pooled connection cut
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert json.loads(stdout)["outcome"] == "completed"
    for raw in ("discarding closed connection", "discarding broken connection",
                "error connecting in", "psycopg.Connection", " at 0x"):
        assert raw not in stderr, stderr
