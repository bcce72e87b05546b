"""``SqliteLedger``: the default ``LedgerStore``, assembled from its parts."""

from __future__ import annotations

from .broadcasts import CarrierBroadcasts
from .control import Control
from .leases import SenderLeases
from .reading import Reading
from .sending import SendingState


class SqliteLedger(SendingState, Reading, Control, CarrierBroadcasts, SenderLeases):
    """The default ``LedgerStore``: one SQLite file in WAL mode, owner-only permissions.

    Its methods live by responsibility in this package: opening and migrating
    (``base.py``), loading and sending (``sending.py``), delivery reports
    (``reports.py``), reading (``reading.py``), control and breaker events
    (``control.py``), carrier broadcasts (``broadcasts.py``), the sender lease
    (``leases.py``)."""

    def close(self) -> None:
        with self._lease_mutex:
            if self._lease_db is not None:
                self._lease_db.close()
                self._lease_db = None
        self._db.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
