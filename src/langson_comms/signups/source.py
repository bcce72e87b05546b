"""The base class of every sign-up source, and what a source hands to the ingestion loop.

Writing a source (a plugin does exactly what the built-in ``file`` source does)::

    @attrs.frozen
    class MyApiSource(SignupSource):
        name: ClassVar[str] = "my_api"       # the ``kind`` a [signups.<key>] table names
        url: str                             # your own keys: fields of the class
        page_size: int = 100

        def read(self, position, *, clock):
            page = int(position or 0)
            while True:
                rows = fetch(self.url, page)                      # your I/O
                if not rows:
                    return
                events, rejections = [], []
                for i, row in enumerate(rows):
                    try:
                        events.append(SignupEvent(platform=self.platform, …,
                                                  source=f"{self.key}:page {page}"))
                    except ValueError as exc:
                        rejections.append(Rejection(where=f"{self.key}:page {page}[{i}]",
                                                    reason=str(exc)))
                page += 1
                yield Batch(events=tuple(events), rejections=tuple(rejections),
                            position=str(page))

    @hookimpl
    def register_signup_sources():
        return [MyApiSource]

The campaign file then says::

    [signups.bank]
    kind = "my_api"          # the class's ``name``
    platform = "mbbank"      # which platform its events belong to
    url = "https://…"

The contract, checked by ``langson_comms.testing.SignupSourceContract``:

* ``from_config(config, context)`` builds the source from its table (without ``kind``);
  ``key`` comes from the table's name, ``platform`` from the table.  Unknown keys and
  bad values are ``CampaignFileError``s located at ``signups.<key>.<field>`` (the
  default implementation, ``context.structure``, does this).
* ``check_config(campaign)`` cross-checks the source against the whole campaign and
  raises ``ConfigError`` saying where; it must not do I/O beyond checking files exist.
* ``read(position, *, clock)`` yields ``Batch``es.  ``position`` is the text of the last
  stored batch's ``Batch.position`` (``None`` the first time).  Each ``Batch.position``
  must let a later ``read`` continue *right after that batch*: the ingestion loop
  stores a batch's events, rejections and position in **one transaction**, so a crash
  between batches resumes with nothing skipped and nothing read twice.  Yield batches
  of a few thousand items at most (memory is bounded by one batch).
* Every input item ends in a batch: as an event or as a ``Rejection`` naming where
  (``file:line``, ``page 3[7]``…), the column or key when known, and why.  A bad item
  never stops the good ones, so ``read = events + rejections`` always holds.
* Time comes from the injected ``clock``, never from the system.
* Events with one identity may appear in several batches or sources; the store keeps
  the first and counts the others as duplicates.
* Phone numbers never appear in clear in a ``Rejection`` or an exception message.

``with_http_client(client)`` gives a source the host application's ``httpx.AsyncClient``
(``ingest(..., http_client=...)``); a source that talks HTTP uses it and leaves it open.

``polling`` is ``True`` for sources that ``signups ingest`` runs (files, pollers) and
``False`` for sources that receive (webhooks), which ``signups serve`` runs instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs

from ..clock import Clock
from ..config import NOT_A_KEY, ConfigContext
from ..errors import ConfigError
from .event import SignupEvent, _name, platform_name

if TYPE_CHECKING:
    import httpx

    from ..campaign import Campaign

__all__ = ["Batch", "Rejection", "SignupSource", "source_key"]


@attrs.frozen(slots=True)
class Rejection:
    """An input item that did not become an event: ``where`` (``file:line``, ``page 3[7]``),
    ``column`` (or key) when known, and ``reason`` (what was expected; never a phone number)."""

    where: str
    reason: str
    column: str | None = None

    def format(self) -> str:
        return f"{self.where}: {self.column}: {self.reason}" if self.column else f"{self.where}: {self.reason}"


@attrs.frozen
class Batch:
    """What a source yields: events, rejections, and the position *after* them.

    ``position`` is opaque text the source alone understands (a JSON object, a cursor, a
    page number).  ``None`` means "no position to save" (a receiver such as a webhook).
    Every input item consumed is in ``events`` or ``rejections``: ``items`` counts them.
    """

    events: Sequence[SignupEvent] = ()
    rejections: Sequence[Rejection] = ()
    position: str | None = None

    @property
    def items(self) -> int:
        """Input items this batch consumed: events + rejections."""
        return len(self.events) + len(self.rejections)


_KEY = _name("source key")


def _source_key(value: object) -> str:
    return _KEY(value)


def source_key(context: ConfigContext) -> str:
    """The ``<key>`` of a ``[signups.<key>]`` table, from the context ``from_config`` gets."""
    return context.key.rsplit(".", 1)[-1]


@attrs.frozen
class SignupSource:
    """Base class of sign-up sources: see the module docstring for the whole contract.

    ``key`` is the campaign table's key (``[signups.<key>]``), ``platform`` the platform
    its events belong to.  Subclasses are attrs classes adding their own fields, and set
    ``name`` (the ``kind`` the campaign table names).
    """

    name: ClassVar[str] = ""
    #: run by ``signups ingest`` (True) or by ``signups serve`` (False)
    polling: ClassVar[bool] = True

    #: the table's key, from its name (set by ``from_config``, not a key of the table)
    key: str = attrs.field(converter=_source_key, metadata={NOT_A_KEY: True})
    platform: str = attrs.field(converter=platform_name)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        """Build from the ``[signups.<key>]`` table (without ``kind``); located errors."""
        if "key" in config:
            raise context.error("the key comes from the table name [signups.<key>]; remove it", "key")
        return context.structure({**config, "key": source_key(context)}, cls)

    def check_config(self, campaign: Campaign) -> None:
        """Cross-check against the campaign (files exist, names known); raise ``ConfigError``."""

    def read(self, position: str | None, *, clock: Clock) -> Iterator[Batch]:
        """Yield batches from ``position`` (``None``: from the start); see the contract."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement read()")

    def with_http_client(self, client: httpx.AsyncClient) -> Self:
        """A copy that talks HTTP through the host's ``client`` (and never closes it);
        a source that does no HTTP returns itself, as this default does."""
        return self

    def with_inputs(self, paths: Sequence[Path]) -> Self:
        """A copy that reads ``paths`` instead of its configured inputs (``signups ingest KEY FILE…``).

        Sources without input files refuse with ``ConfigError``.
        """
        raise ConfigError(
            f"source {self.key!r} (kind {self.name!r}) does not read files; "
            "name files only after a source of kind 'file'",
            key=f"signups.{self.key}",
        )
