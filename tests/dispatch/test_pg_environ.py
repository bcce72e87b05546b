"""The PostgreSQL ledger's password variable (``ledger_password_env``) is read from the
environment the host passes to ``send_sms``/``serve_reports`` (``environ``), not from the
process environment."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from langson_comms import Runtime, api

from .test_postgres_ledger import _pg_campaign

#: a variable the process environment does not have: only the passed mapping holds it
PASSWORD_VARIABLE = "LANGSON_TEST_ONLY_PASSED_LEDGER_PW"


def _target(folder: Path, sim: Any, url: str) -> api.SmsTarget:
    _pg_campaign(folder, sim, url, n=5,
                 extra=f'ledger_password_env = "{PASSWORD_VARIABLE}"')
    runtime = Runtime.create(entry_points=False, env={})
    return api.sms_target(api.load_campaign(folder / "campaign.toml", runtime=runtime))


def test_send_sms_reads_the_ledger_password_from_the_passed_environ(
        tmp_path: Path, carrier_simulator: Any, postgres_url: str) -> None:
    assert PASSWORD_VARIABLE not in os.environ
    sim = carrier_simulator(honour_idempotency=True)
    target = _target(tmp_path, sim, postgres_url)
    environ = {**os.environ, PASSWORD_VARIABLE: "only-in-the-passed-environ"}
    summary = asyncio.run(asyncio.wait_for(api.send_sms(
        target, audience=str(tmp_path / "prepared.csv"), environ=environ), timeout=60))
    assert summary.outcome == "completed"
    assert summary.counts["accepted"] + summary.counts["delivered"] == 5


def test_serve_reports_reads_the_ledger_password_from_the_passed_environ(
        tmp_path: Path, carrier_simulator: Any, postgres_url: str) -> None:
    target = _target(tmp_path, carrier_simulator(), postgres_url)
    environ = {**os.environ, PASSWORD_VARIABLE: "only-in-the-passed-environ"}
    options = api.report_options(target, host="127.0.0.1", port=0, insecure=True,
                                 environ=environ)

    async def serve() -> dict[str, int]:
        stop = asyncio.Event()
        return await api.serve_reports(target, stop, options=options, environ=environ,
                                       on_start=lambda _receiver: stop.set())

    counters = asyncio.run(asyncio.wait_for(serve(), timeout=30))
    assert isinstance(counters, dict)
