"""The CLI's logging setup: psycopg's pool warnings are quiet unless ``--debug``, our own
warnings still show, and the levels are restored after a run."""

from __future__ import annotations

import logging

import pytest

from langson_comms.cli.logs import quiet_library_logs

RAW = "discarding closed connection: <psycopg.Connection [BAD] at 0x7f00>"


def _logged(caplog: pytest.LogCaptureFixture, debug: bool) -> list[str]:
    caplog.clear()
    with quiet_library_logs(debug):
        logging.getLogger("psycopg.pool").warning(RAW)
        logging.getLogger("langson_comms.sms.engine").warning("our own warning")
    return [r.getMessage() for r in caplog.records]


def test_psycopg_pool_warnings_are_quiet_unless_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = logging.getLogger("psycopg").level
    assert _logged(caplog, debug=False) == ["our own warning"]
    assert logging.getLogger("psycopg").level == before  # restored after the run
    assert _logged(caplog, debug=True) == [RAW, "our own warning"]
