"""Sign-ups as one call each (what the ``signups`` commands run): ``ingest_signups``,
``serve_signups`` and ``signups_status``.

Each opens the campaign's ``[signups] store`` unless the host passes a ``store`` it opened
itself (then it is left open), and ``ingest_signups`` pages the ``http_poll`` sources
with the host's own ``http_client`` when it gives one (then it is left open too).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx

from ..campaign import Campaign
from ..clock import Clock, SystemClock
from ..signups import IngestReport, SignupStatus, SignupStore, SqliteSignupStore, ingest, signups_plan
from ..signups.receiver import DEFAULT_HOST, DEFAULT_PORT, run_receiver

__all__ = ["ingest_signups", "serve_signups", "signups_status", "signups_store_path"]

#: where ``serve_signups`` listens by default: this machine only
SIGNUPS_HOST = DEFAULT_HOST
SIGNUPS_PORT = DEFAULT_PORT


def signups_store_path(campaign: Campaign) -> Path:
    """The store the campaign's ``[signups] store`` names (``ConfigError`` without one)."""
    return Path(signups_plan(campaign).store_path)


@contextlib.contextmanager
def _opened(campaign: Campaign, store: SignupStore | None) -> Iterator[SignupStore]:
    if store is not None:  # the host's: it closes it
        yield store
        return
    with SqliteSignupStore(signups_store_path(campaign)) as own:
        yield own


def ingest_signups(campaign: Campaign, *, clock: Clock | None = None,
                   keys: Sequence[str] | None = None, files: Sequence[Path] = (),
                   env: Mapping[str, str] | None = None,
                   progress: Callable[[str, int], None] | None = None,
                   store: SignupStore | None = None,
                   http_client: httpx.AsyncClient | None = None) -> IngestReport:
    """Ingest the campaign's polling and file sign-up sources (or ``keys``; ``files``
    replace one ``file`` source's inputs) into its ``[signups] store`` (or ``store``);
    return the counts.  ``progress(key, rows read)`` is called after each batch.
    ``http_client`` is the host's client for the sources that talk HTTP (``http_poll``):
    its headers and transport are used, its own timeout and token added per request, and
    it is never closed here.  The sources page in an event loop of their own: call this
    from synchronous code (or a thread) and give a client no other loop is using."""
    with _opened(campaign, store) as opened:
        return ingest(campaign, opened, clock=clock or SystemClock(), keys=keys, files=files,
                      env=env, progress=progress, http_client=http_client)


def signups_status(campaign: Campaign, *, store: SignupStore | None = None) -> SignupStatus:
    """The sign-ups stored for ``campaign``: totals by platform, kind, day, team, commune.
    Before the first ingest (no store yet) every count is 0 and nothing is created."""
    if store is None and not signups_store_path(campaign).exists():
        return SignupStatus(total=0, by_platform={}, by_kind={}, by_day={}, by_team={}, by_commune={},
                            unattributed=0, out_of_period=0, rejected=0)
    with _opened(campaign, store) as opened:
        return opened.status()


async def serve_signups(campaign: Campaign, key: str, stop: asyncio.Event, *,
                        clock: Clock | None = None, host: str = SIGNUPS_HOST,
                        port: int = SIGNUPS_PORT, env: Mapping[str, str] | None = None,
                        ready: Callable[[str], None] | None = None,
                        store: SignupStore | None = None) -> dict[int, int]:
    """Receive source ``key``'s signed webhook requests at ``POST /signups/<key>`` until
    ``stop`` is set; ``ready(url)`` once listening (``port`` 0: any free port).  The
    answers given, by HTTP status.  ``ConfigError`` for an unknown key, a polling source
    or an unusable secret."""
    with _opened(campaign, store) as opened:
        receiver = await run_receiver(campaign, key, opened, clock=clock or SystemClock(),
                                      host=host, port=port, env=env, stop=stop, ready=ready)
        return dict(receiver.answers)
