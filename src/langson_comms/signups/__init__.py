"""Sign-ups: installs, accounts and first purchases from the platforms, attributed to teams.

Sources (``SignupSource`` subclasses, contributed through ``register_signup_sources``)
yield ``Batch``es of ``SignupEvent``s; ``ingest`` attributes them (``Attributor``),
pseudonymises phone numbers (``phone_hash``) and stores each batch with the source's
position in one transaction (``SignupStore``, ``SqliteSignupStore``).  See
docs/signups.md.
"""

from __future__ import annotations

from .attribution import UNATTRIBUTED, Attribution, Attributor
from .event import KNOWN_KINDS, SignupEvent, normalize_phone, parse_occurred_at
from .ingest import (
    IngestReport,
    SignupRecorder,
    SourceCounts,
    ingest,
    make_pseudonymizer,
    signups_plan,
)
from .pseudonym import DEFAULT_KEY_ENV, Pseudonymizer, phone_hash
from .settings import SignupSettings, SignupsPlan
from .source import Batch, Rejection, SignupSource, source_key
from .store import (
    BatchResult,
    IngestRecord,
    SignupStatus,
    SignupStore,
    SqliteSignupStore,
    StoredSignup,
)

__all__ = [
    "Attribution",
    "Attributor",
    "Batch",
    "BatchResult",
    "DEFAULT_KEY_ENV",
    "IngestRecord",
    "IngestReport",
    "KNOWN_KINDS",
    "Pseudonymizer",
    "Rejection",
    "SignupEvent",
    "SignupRecorder",
    "SignupSettings",
    "SignupSource",
    "SignupStatus",
    "SignupStore",
    "SignupsPlan",
    "SourceCounts",
    "SqliteSignupStore",
    "StoredSignup",
    "UNATTRIBUTED",
    "ingest",
    "make_pseudonymizer",
    "normalize_phone",
    "parse_occurred_at",
    "phone_hash",
    "signups_plan",
    "source_key",
]
