"""Contract tests for sign-up source plugins (``register_signup_sources``).

Usage::

    from langson_comms.testing.signup_contract import SignupSourceContract

    class TestMySource(SignupSourceContract):
        contributed_class = MySource
        example_config = {"platform": "mbbank", "url": "https://…"}
        plugin = my_plugin_module          # optional: checks registration

        def source_with(self, tmp_path, items, batch_size):
            # Return a source whose input holds ``items`` in your format, in that order,
            # yielding at most ``batch_size`` items per batch.  Each item is a dict of
            # text: external_id, kind, occurred_at, and maybe phone, commune_code, team_code.
            ...

The contract feeds the source good, duplicate and malformed items and checks, through
the real ingestion loop and a real SQLite store, what every source must guarantee
(see ``langson_comms.signups.source``):

* every item ends somewhere countable: ``read = accepted + duplicates + rejected``;
* the same event twice (in one input, or read again) is stored once;
* a malformed item is a ``Rejection`` that says where and why, and the good items after
  it are still stored; a bad phone number is never shown in clear;
* a crash after any stored batch resumes from the stored position with nothing skipped
  and nothing doubled;
* time comes from the injected clock (``pendulum.now`` is switched off while reading);
* ``key`` comes from the table's name and ``platform`` is required.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pendulum
import pytest

from ..campaign import Campaign, Period
from ..clock import FrozenClock
from ..errors import ConfigError
from ..signups import (
    SignupSettings,
    SignupSource,
    SignupsPlan,
    SqliteSignupStore,
    ingest,
)
from ..signups.ingest import SignupRecorder
from .contracts import ContributionContract

__all__ = ["SignupSourceContract", "contract_campaign", "contract_items"]

KEY_ENV = {"LANGSON_COMMS_PSEUDONYM_KEY": "contract-key-0123456789abcdef"}
BAD_PHONE = "0243 123 4567"  # a Hà Nội landline: not a mobile number


def contract_items(count: int, prefix: str = "ev") -> list[dict[str, str]]:
    """``count`` good items with ids ``<prefix>0001``… on 2022-07-01 (local time)."""
    return [
        {"external_id": f"{prefix}{i:04d}", "kind": "install",
         "occurred_at": f"2022-07-01T{8 + i % 10:02d}:{i % 60:02d}:00",
         "phone": f"09123{i:05d}", "commune_code": "100", "team_code": "T100"}
        for i in range(1, count + 1)
    ]


def contract_campaign(tmp_path: Path) -> Campaign:
    """A minimal campaign (2022-06-10 … 2022-12-31, no teams) with a ``[signups]`` plan."""
    return Campaign(
        id="contract", title="contract", source=str(tmp_path / "campaign.toml"),
        period=Period(pendulum.Date(2022, 6, 10), pendulum.Date(2022, 12, 31)),
        signups=SignupsPlan(settings=SignupSettings(), store_path=tmp_path / "signups.sqlite"),
    )


class SignupSourceContract(ContributionContract):
    """What every sign-up source must do; set ``contributed_class``, ``example_config``
    (with ``platform``) and implement ``source_with``."""

    kind: ClassVar[str] = "signup_source"
    example_config: ClassVar[Mapping[str, Any]] = {}
    #: a platform name ``source_with`` may use (the contract checks the events against
    #: the platform of the source ``source_with`` returns, whichever it is)
    platform: ClassVar[str] = "mbbank"

    def source_with(self, tmp_path: Path, items: Sequence[Mapping[str, str]], batch_size: int) -> SignupSource:
        """A source reading ``items`` (in this order), at most ``batch_size`` per batch."""
        raise NotImplementedError("implement source_with(tmp_path, items, batch_size)")

    # -- helpers ---------------------------------------------------------------------------

    def _run(self, tmp_path: Path, source: SignupSource, store: SqliteSignupStore) -> Any:
        clock = FrozenClock("2022-07-02T12:00:00")
        return ingest(contract_campaign(tmp_path), store, clock=clock, env=KEY_ENV,
                      sources={source.key: source}).sources[source.key]

    def _store(self, tmp_path: Path) -> SqliteSignupStore:
        return SqliteSignupStore(tmp_path / "contract-store" / "signups.sqlite")

    # -- the contract ----------------------------------------------------------------------

    def test_is_a_signup_source_keyed_by_its_table(self, tmp_path: Path) -> None:
        built = self.build(tmp_path)
        assert isinstance(built, SignupSource), "sign-up sources subclass SignupSource"
        assert built.key == "under_test", "the key comes from the [signups.<key>] table name"
        assert built.platform

    def test_platform_is_required(self, tmp_path: Path) -> None:
        config = {k: v for k, v in self.example_config.items() if k != "platform"}
        with pytest.raises(ConfigError) as info:
            self.build(tmp_path, config)
        assert "under_test" in str(info.value) and "platform" in str(info.value)

    def test_every_item_is_stored_and_counted(self, tmp_path: Path) -> None:
        items = contract_items(7)
        source = self.source_with(tmp_path, items, 3)
        with self._store(tmp_path) as store:
            counts = self._run(tmp_path, source, store)
            assert (counts.read, counts.accepted, counts.duplicates, counts.rejected) == (7, 7, 0, 0)
            ids = {r[0] for r in store._db.execute("SELECT external_id FROM signups WHERE platform = ?",
                                                     (source.platform,))}
            assert ids == {i["external_id"] for i in items}

    def test_the_same_event_twice_is_one_event(self, tmp_path: Path) -> None:
        items = contract_items(4)
        doubled = [*items, items[1], items[3]]
        with self._store(tmp_path) as store:
            counts = self._run(tmp_path, self.source_with(tmp_path, doubled, 2), store)
            assert (counts.read, counts.accepted, counts.duplicates) == (6, 4, 2)
            assert store.count() == 4

    def test_a_malformed_item_is_a_located_rejection_and_the_rest_are_stored(self, tmp_path: Path) -> None:
        items = contract_items(5)
        items[1] = {**items[1], "occurred_at": "not a date"}
        items[3] = {**items[3], "phone": BAD_PHONE}
        with self._store(tmp_path) as store:
            counts = self._run(tmp_path, self.source_with(tmp_path, items, 10), store)
            assert (counts.read, counts.accepted, counts.rejected) == (5, 3, 2)
            rejections = store.rejections()
            assert len(rejections) == 2
            for rejection in rejections:
                assert rejection.where and rejection.reason, "a rejection says where and why"
                assert "4567" not in rejection.format(), "phone numbers never appear in clear"
            assert "date" in rejections[0].format().lower() or "occurred_at" in rejections[0].format()

    def test_resume_after_a_crash_skips_and_doubles_nothing(self, tmp_path: Path) -> None:
        items = contract_items(10)
        campaign = contract_campaign(tmp_path)
        clock = FrozenClock("2022-07-02T12:00:00")
        with self._store(tmp_path) as store:
            recorder = SignupRecorder(campaign, store, clock=clock, pseudonymizer=None)
            source = self.source_with(tmp_path, items, 3)
            batches = source.read(store.position(source.key), clock=clock)
            for _ in range(2):  # store two batches, then "crash" (abandon the reader)
                recorder.record(source.key, next(batches))
            stored = store.count()
            assert 0 < stored < 10, "batch_size must bound the batches"
            close = getattr(batches, "close", None)
            if close is not None:
                close()
            counts = self._run(tmp_path, self.source_with(tmp_path, items, 3), store)
            assert store.count() == 10
            assert counts.duplicates == 0, "a resumed source reads nothing twice"
            assert counts.read == 10 - stored, "a resumed source skips nothing"

    def test_time_comes_from_the_injected_clock(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        def no_system_time(*_: Any, **__: Any) -> Any:
            raise AssertionError("a source must ask the injected clock, not pendulum.now()")

        monkeypatch.setattr(pendulum, "now", no_system_time)
        monkeypatch.setattr(pendulum, "today", no_system_time)
        with self._store(tmp_path) as store:
            counts = self._run(tmp_path, self.source_with(tmp_path, contract_items(3), 2), store)
            assert counts.accepted == 3
