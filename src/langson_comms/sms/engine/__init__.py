"""The SMS dispatch engine: from ledger rows to carrier ids, resumably and within limits.

One ``DispatchEngine`` sends one campaign message.  Its main loop claims due rows from
the ledger in batches (marking them ``submitted``), renders them, asks the compliance
policies (holds go back to the ledger with their ``until``: quiet hours are a hold, so
the engine sleeps until the window opens and goes on by itself), routes each row by its
carrier hint to a gateway *lane*, and lanes send.  A lane is one gateway with its own
rate limiter (messages and segments per second), circuit breaker and ``concurrency``
workers.  When a primary gateway's breaker is open, rows go to the fallback gateways.

Outcomes are written back in batches (``flush_rows`` rows or ``flush_interval``
seconds): accepted with the carrier id; transient errors back to ``queued`` with an
exponential, jittered backoff (at least the ``Retry-After``) until ``max_attempts``;
permanent errors ``failed`` with the reason, never retried; rows whose next try would
fall after ``send_by`` ``expired``.  A crash (kill -9) leaves at most the rows in flight
``submitted``; the next run puts them back to ``queued`` with the same idempotency key.

Pause and cancel come from the ledger's control table (so another process — ``sms
pause`` — can steer a running sender) or from ``pause()``/``cancel()``; ``stop()``
(SIGINT/SIGTERM) stops claiming, waits for requests in flight and records them.

The package, by part: ``settings`` (``RetryPolicy``, ``Routing``, ``BreakerSettings``,
``DispatchSummary``), ``lanes``, ``base`` (state, steering, breaker events, results),
``preparing`` (claimed rows: render, policies, routing), ``sending`` (lanes, workers,
retries), ``loop`` (``DispatchEngine``: the main loop, control, shutdown) and ``loading``
(``load_prepared``).  Import from ``langson_comms.sms.engine``: the names below are its API.
"""

from __future__ import annotations

from .loading import load_prepared
from .loop import DispatchEngine
from .settings import ALREADY_ACCEPTED as ALREADY_ACCEPTED  # importable here, as before
from .settings import DEFER_SECONDS as DEFER_SECONDS
from .settings import HISTORY_PREFETCH_SECONDS as HISTORY_PREFETCH_SECONDS
from .settings import (
    BreakerSettings,
    DispatchSummary,
    RetryPolicy,
    Routing,
)

__all__ = ["BreakerSettings", "DispatchEngine", "DispatchSummary", "RetryPolicy", "Routing",
           "load_prepared"]
