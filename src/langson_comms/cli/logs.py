"""The command line's logging: libraries' own warnings kept quiet unless ``--debug``.

During a PostgreSQL outage psycopg's connection pool logs, at WARNING, lines such as
``discarding closed connection: <psycopg.Connection [BAD] at 0x…>`` and ``error connecting
in 'langson-ledger': …``.  With no handler configured Python prints them raw on stderr;
the send already waits for the server and says what failed in its own words, so the CLI
raises those loggers to ERROR for the run (``--debug`` leaves them as they are).  Only the
CLI does this: the library never configures logging, a host keeps its own.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["QUIET_LIBRARIES", "quiet_library_logs"]

#: loggers of libraries whose warnings the CLI does not show unless ``--debug``
QUIET_LIBRARIES = ("psycopg",)  # psycopg.pool's reconnection notes among them


@contextlib.contextmanager
def quiet_library_logs(debug: bool) -> Iterator[None]:
    """While inside, ``QUIET_LIBRARIES`` log only errors, unless ``debug``; their levels
    are restored after (``main`` called in-process leaves logging as it found it)."""
    if debug:
        yield
        return
    loggers = [logging.getLogger(name) for name in QUIET_LIBRARIES]
    saved = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, saved, strict=True):
            logger.setLevel(level)
