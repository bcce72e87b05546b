"""``measure_stores``: measure a campaign from the stores its file names.

Opens, when their files exist, the sign-up store (``[signups] store``), the SMS ledger
(the ``sms`` channel's ``ledger``) and the activity store (``.langson/activity.sqlite``
next to the campaign file); with the SMS ledger and the pseudonym key it keeps the ledger's
keyed phone hashes in ``<ledger>.hashes`` (``HashCache``: hashes only, safe to delete)
so that each report hashes only the new rows; the channels read their own stores for their reach
(``langson_comms.reach.reach_records``); a store that does not exist yet is not created — its figures are
0 and the measurement's notes say which is missing.  The pseudonym key (``[signups]
pseudonym_key_env``) is read from ``env`` to match installs with delivered SMS; without
it the match is skipped and said so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..campaign import Campaign, Period
from ..clock import Clock
from ..errors import ConfigError
from .data import store_paths
from .measure import measure
from .result import Measurement

__all__ = ["attribution_window_days", "measure_stores"]

DEFAULT_WINDOW_DAYS = 7


def attribution_window_days(campaign: Campaign) -> int:
    """The ``attribution_window_days`` of the campaign's first ``conversion`` target (default 7)."""
    for target in campaign.targets.values():
        days = getattr(target.kpi, "attribution_window_days", None)
        if target.kind == "conversion" and isinstance(days, int):
            return days
    return DEFAULT_WINDOW_DAYS


def measure_stores(campaign: Campaign, period: Period, *, clock: Clock,
                   env: Mapping[str, str] | None = None, registry: Any | None = None,
                   activity_store: Path | None = None,
                   signup_cache: Any | None = None) -> Measurement:
    """Measure ``campaign`` over ``period`` from its stores (see the module's docstring);
    ``activity_store`` replaces the default activity store; ``signup_cache``: a
    ``SignupCache`` kept by a caller that measures again and again (the live dashboard),
    so that each call reads only the sign-ups stored since the last."""
    from ..signups import SqliteSignupStore, make_pseudonymizer
    from ..sms.ledger import open_ledger

    env = os.environ if env is None else env
    paths = store_paths(campaign)
    if activity_store is not None:
        paths["activity"] = Path(activity_store)
    missing = [f"{name} store {path} does not exist yet" for name, path in paths.items()
               if name != "hash_cache" and not path.is_file()]
    hasher: Any = None
    if campaign.signups is not None:
        with contextlib.suppress(ConfigError):
            pseudonymizer = make_pseudonymizer(campaign.signups.settings, env, source=campaign.source)
            hasher = pseudonymizer.hash if pseudonymizer is not None else None
    with contextlib.ExitStack() as stack:
        signups = ledger = activity = cache = None
        if "signups" in paths and paths["signups"].is_file():
            signups = stack.enter_context(SqliteSignupStore(paths["signups"]))
        sms = campaign.channels_of_kind("sms")[:1]
        if sms and sms[0].channel.ledger_location().url is not None:
            # a PostgreSQL ledger (no keyed-hash cache file beside it: numbers hashed anew)
            ledger = stack.enter_context(sms[0].channel.open_ledger(env))
        elif "ledger" in paths and paths["ledger"].is_file():
            ledger = stack.enter_context(open_ledger(paths["ledger"]))
            if hasher is not None:
                from .hash_cache import HashCache

                cache = stack.enter_context(HashCache(paths["hash_cache"]))
        if "activity" in paths and paths["activity"].is_file():
            from ..activity.store import SqliteActivityStore

            activity = stack.enter_context(SqliteActivityStore(paths["activity"]))
        result = measure(campaign, period, clock=clock, signups=signups, ledger=ledger,
                         activity=activity, phone_hasher=hasher, registry=registry, hash_cache=cache,
                         attribution_window_days=attribution_window_days(campaign),
                         signup_cache=signup_cache)
    if missing:
        import attrs

        result = attrs.evolve(result, notes=(*result.notes, *missing))
    return result
