"""``SignupCache``: the period's sign-up facts kept between measurements.

The live dashboard measures again whenever a store changes; reading and converting every
sign-up of the period each time was most of a refresh at 100,000 sign-ups.  The sign-up
store only appends rows, so the cache keeps the facts it read and the last row id, and
each later call reads only the rows stored since (``SqliteSignupStore.events_after``),
merged in the store's order (``occurred_at``, then id).  It reads everything again when
the store file, the period's days or the rows up to its last id changed (a replaced or
rebuilt store).  Owned by one reader (the dashboard); not shared between threads.
"""

from __future__ import annotations

import operator
import os
from typing import Any

from .data import SignupFact

__all__ = ["SignupCache"]

_OCCURRED = operator.attrgetter("occurred_at")


class SignupCache:
    """Sign-up facts of one store and period, read incrementally (see the module)."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._facts: list[SignupFact] = []
        self._last_id = 0
        self._seen = 0
        #: rows read by the last call (all of them, or only the new ones)
        self.last_read = 0

    def facts(self, store: Any, first_day: str, last_day: str) -> list[SignupFact]:
        """The events of days ``first_day``..``last_day`` of ``store`` (an
        ``SqliteSignupStore``), as ``load_data`` reads them."""
        try:
            st = os.stat(store.path)
            identity: tuple[Any, ...] = (st.st_dev, st.st_ino)
        except OSError:
            identity = ()
        key = (str(store.path), identity, first_day, last_day)
        if key != self._key:
            self._key, self._facts, self._last_id, self._seen = key, [], 0, 0
        (before, total, last), rows = store.events_after(self._last_id, first_day, last_day)
        if before != self._seen:  # rows this cache read are gone: read the store whole
            self._facts, self._last_id, self._seen = [], 0, 0
            (before, total, last), rows = store.events_after(0, first_day, last_day)
        new = [SignupFact(*row) for row in rows]
        self.last_read = len(new)
        if new and self._facts and new[0].occurred_at < self._facts[-1].occurred_at:
            # stable: equal instants keep the earlier rows (lower ids) first, as the store orders them
            self._facts = sorted([*self._facts, *new], key=_OCCURRED)
        else:
            self._facts.extend(new)
        self._last_id, self._seen = last, total
        return list(self._facts)
