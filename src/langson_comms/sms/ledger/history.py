"""``LedgerSendHistory``: the ledger as the send history the 3-per-24h policy asks."""

from __future__ import annotations

from collections.abc import Sequence

import pendulum

from ...clock import LOCAL_TZ
from .store import LedgerStore


class LedgerSendHistory:
    """The ``SendHistory`` (a ``TimedSendHistory``) the 3-per-24h policy asks: promotional
    SMS accepted per number, so a hold ends exactly when a slot frees."""

    def __init__(self, ledger: LedgerStore) -> None:
        self._ledger = ledger
        self._cache: dict[str, list[float]] | None = None
        self._cache_since = 0.0
        self._cache_since_dt: pendulum.DateTime | None = None

    def prefetch(self, msisdns: Sequence[str], since: float) -> None:
        """Read the history of a whole batch of numbers in one go (the engine does this per
        claimed batch); answers for ``since`` at or after ``since`` come from memory."""
        self._cache = self._ledger.promotional_times_many(msisdns, since)
        self._cache_since = since
        self._cache_since_dt = pendulum.from_timestamp(since, tz=LOCAL_TZ)

    def clear(self) -> None:
        self._cache = None

    def _times(self, msisdn: str, since: pendulum.DateTime) -> list[float]:
        cache = self._cache
        if cache is not None:
            times = cache.get(msisdn)
            if not times:
                # comparing date-times is cheaper than converting ``since`` per row
                if self._cache_since_dt is not None and since >= self._cache_since_dt:
                    return []
            else:
                floor = since.timestamp()
                if floor >= self._cache_since:
                    return [t for t in times if t >= floor]
        return self._ledger.promotional_times(msisdn, since.timestamp())

    def count_promotional(self, msisdn: str, since: pendulum.DateTime) -> int:
        return len(self._times(msisdn, since))

    def promotional_counts(self, msisdns: Sequence[str], since: pendulum.DateTime) -> dict[
        str, int
    ]:
        """Counts for a batch (``BatchSendHistory``): from the prefetched batch when it
        covers ``since`` — only numbers with earlier sends are looked at — else per number."""
        cache = self._cache
        floor = since.timestamp()
        if cache is not None and floor >= self._cache_since:
            counts = {m: n for m, times in cache.items()
                      if (n := sum(1 for t in times if t >= floor))}
            if counts:  # the prefetch may have held other numbers: the batch's only
                batch = set(msisdns)
                counts = {m: n for m, n in counts.items() if m in batch}
            return counts
        return {m: n for m in dict.fromkeys(msisdns) if (n := self.count_promotional(m, since))}

    def promotional_times(self, msisdn: str, since: pendulum.DateTime) -> list[pendulum.DateTime]:
        return [pendulum.from_timestamp(t, tz=LOCAL_TZ) for t in self._times(msisdn, since)]
