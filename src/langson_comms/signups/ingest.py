"""Ingestion: run sources, attribute and pseudonymise their events, store them batch by batch.

``ingest(campaign, store, clock=…)`` is the public call behind ``signups ingest``: for
each polling source it reads from the stored position, and stores every batch — events,
rejections and the new position — in one transaction (``SignupStore.store_batch``).  A
crash loses at most the batch in flight, which the next run reads again.

``SignupRecorder`` is the piece receivers (the webhook) share: it turns a ``Batch`` into
stored rows and returns the counts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..campaign import Campaign
from ..clock import Clock, timestamp_of
from ..errors import ConfigError
from .attribution import Attributor
from .pseudonym import Pseudonymizer
from .settings import SignupSettings, SignupsPlan
from .source import Batch, Rejection, SignupSource
from .store import BatchResult, IngestRecord, SignupStore, StoredSignup

if TYPE_CHECKING:
    import httpx

__all__ = [
    "IngestReport",
    "SignupRecorder",
    "SourceCounts",
    "ingest",
    "make_pseudonymizer",
    "signups_plan",
]

#: called after each stored batch with (source key, items read so far by that source)
Progress = Callable[[str, int], None]


@attrs.frozen
class SourceCounts:
    """One source's counts: ``read = accepted + duplicates + rejected``; ``unattributed`` is
    among ``accepted``."""

    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    unattributed: int = 0

    def __add__(self, other: SourceCounts) -> SourceCounts:
        return SourceCounts(*(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True)))

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


@attrs.frozen
class IngestReport:
    """Counts per source key, the ``totals``, and the first rejections (``rejections``, at
    most ``REJECTIONS_KEPT`` per source; all are in the store)."""

    sources: Mapping[str, SourceCounts]
    rejections: Mapping[str, tuple[Rejection, ...]] = attrs.field(factory=dict)

    @property
    def totals(self) -> SourceCounts:
        total = SourceCounts()
        for counts in self.sources.values():
            total = total + counts
        return total

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return self.totals.rejected == 0

    def as_dict(self) -> dict[str, object]:
        """The ``--json`` shape: ``{"sources": {KEY: {...}}, "totals": {...}}``."""
        return {"sources": {k: c.as_dict() for k, c in self.sources.items()},
                "totals": self.totals.as_dict()}


REJECTIONS_KEPT = 20


def signups_plan(campaign: Campaign) -> SignupsPlan:
    """The campaign's ``[signups]`` configuration; ``ConfigError`` when it has none."""
    plan = campaign.signups
    if plan is None:
        raise ConfigError("the campaign has no [signups] table (see docs/signups.md)",
                          source=campaign.source, key="signups")
    return plan


def make_pseudonymizer(settings: SignupSettings, env: Mapping[str, str] | None = None,
                       source: str | None = None) -> Pseudonymizer | None:
    """The campaign's pseudonymizer from ``env``; ``None`` only when numbers are kept in
    clear and no key is set.  ``ConfigError`` names the missing variable otherwise."""
    env = os.environ if env is None else env
    if settings.clear_numbers and not env.get(settings.pseudonym_key_env):
        return None
    return Pseudonymizer.from_env(env, key_env=settings.pseudonym_key_env,
                                  clear=settings.clear_numbers, source=source)


class SignupRecorder:
    """Attributes, pseudonymises and stores batches for one campaign and store."""

    def __init__(self, campaign: Campaign, store: SignupStore, *, clock: Clock,
                 pseudonymizer: Pseudonymizer | None) -> None:
        self.store = store
        self._attribute = Attributor(campaign)
        self._pseudonymizer = pseudonymizer
        self._now = timestamp_of(clock)

    def rows(self, batch: Batch) -> list[StoredSignup]:
        """The batch's events as the store keeps them (attributed, numbers pseudonymised)."""
        attribute = self._attribute.fields
        hasher = self._pseudonymizer
        clear = hasher is None or hasher.clear
        rows = []
        for event in batch.events:
            team, commune, rule, day, in_period = attribute(event)
            phone = event.phone
            rows.append(StoredSignup(
                event.platform, event.kind, event.external_id, event.occurred_at.timestamp(), day,
                hasher.hash(phone) if phone is not None and hasher is not None else None,
                phone if clear else None, commune, team, rule, event.team_code, event.commune_code,
                in_period, event.source,
            ))
        return rows

    def record(self, source_key: str, batch: Batch) -> BatchResult:
        """Store one batch (events, rejections, position) in one transaction."""
        return self.store.store_batch(source_key, self.rows(batch), batch.rejections,
                                      batch.position, self._now())


def _select(plan: SignupsPlan, keys: Sequence[str] | None, files: Sequence[Path],
            source: str | None) -> dict[str, SignupSource]:
    if keys:
        unknown = [k for k in keys if k not in plan.sources]
        if unknown:
            raise ConfigError(
                f"no sign-up source {unknown[0]!r} (known: {', '.join(sorted(plan.sources)) or 'none'})",
                source=source, key="signups")
        chosen = {k: plan.sources[k] for k in keys}
        receiving = [k for k, s in chosen.items() if not s.polling]
        if receiving:
            raise ConfigError(
                f"source {receiving[0]!r} (kind {chosen[receiving[0]].name!r}) receives events rather than "
                f"reading them: run it with 'signups serve {receiving[0]}'",
                source=source, key=f"signups.{receiving[0]}")
    else:
        chosen = {k: s for k, s in plan.sources.items() if s.polling}
    if files:
        if len(chosen) != 1:
            raise ConfigError("files can only be given with exactly one source key", source=source,
                              key="signups")
        (key, only), = chosen.items()
        chosen = {key: only.with_inputs(files)}
    return chosen


def ingest(
    campaign: Campaign,
    store: SignupStore,
    *,
    clock: Clock,
    keys: Sequence[str] | None = None,
    files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    sources: Mapping[str, SignupSource] | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> IngestReport:
    """Ingest the campaign's polling sources (or ``keys``) into ``store``; return the counts.

    ``files`` replace the inputs of the one source named in ``keys`` (a ``file`` source).
    ``sources`` replaces the campaign's sources altogether (a host application building
    sources in code).  ``http_client`` is handed to each source (``with_http_client``):
    those that talk HTTP use it and leave it open.  The pseudonym key is read from ``env`` (default ``os.environ``).
    Raises ``ConfigError`` for unknown keys or a missing key variable, ``LedgerError``
    when the store fails; a rejected row is counted, never raised.
    """
    plan = signups_plan(campaign)
    chosen = dict(sources) if sources is not None else _select(plan, keys, files, campaign.source)
    if http_client is not None:
        chosen = {key: source.with_http_client(http_client) for key, source in chosen.items()}
    recorder = SignupRecorder(campaign, store, clock=clock,
                              pseudonymizer=make_pseudonymizer(plan.settings, env, campaign.source))
    now = timestamp_of(clock)
    counts: dict[str, SourceCounts] = {}
    kept: dict[str, tuple[Rejection, ...]] = {}
    for key, source in chosen.items():
        started = now()
        read = accepted = duplicates = rejected = unattributed = 0
        first: list[Rejection] = []
        for batch in source.read(store.position(key), clock=clock):
            result = recorder.record(key, batch)
            read += batch.items
            accepted += result.accepted
            duplicates += result.duplicates
            rejected += len(batch.rejections)
            unattributed += result.unattributed
            if len(first) < REJECTIONS_KEPT:
                first.extend(batch.rejections[: REJECTIONS_KEPT - len(first)])
            if progress is not None:
                progress(key, read)
        counts[key] = SourceCounts(read, accepted, duplicates, rejected, unattributed)
        kept[key] = tuple(first)
        store.record_ingest(IngestRecord(key, started, now(), read, accepted, duplicates,
                                         rejected, unattributed))
    return IngestReport(sources=counts, rejections=kept)
