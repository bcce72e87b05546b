"""The ingestion loop and the SQLite store: identity, atomic batches, attribution, pseudonyms."""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pendulum
import pytest

from langson_comms import Campaign, FrozenClock
from langson_comms.errors import ConfigError
from langson_comms.signups import (
    SignupEvent,
    SqliteSignupStore,
    ingest,
    phone_hash,
)
from langson_comms.testing import SignupSourceContract

from .conftest import ENV, KEY, ListPlugin, ListSource

ROW = {"kind": "install", "occurred_at": "2022-07-01T10:00:00"}


def rows(*ids: str, **extra: Any) -> list[dict[str, Any]]:
    return [{**ROW, "external_id": i, **extra} for i in ids]


def source(**changes: Any) -> ListSource:
    return ListSource(key="test", platform="mbbank", **changes)


def test_event_identity_and_local_time() -> None:
    naive = SignupEvent(platform="mbbank", kind="install", external_id=" 7 ", occurred_at="2022-07-01 10:00")
    aware = SignupEvent(platform="mbbank", kind="install", external_id="7",
                        occurred_at=pendulum.datetime(2022, 7, 1, 3, tz="UTC"))
    assert naive.identity == aware.identity == ("mbbank", "install", "7")
    assert naive.occurred_at == aware.occurred_at  # naive input is Asia/Ho_Chi_Minh (UTC+7)


def test_event_refuses_bad_values_without_showing_the_number() -> None:
    with pytest.raises(ValueError, match="not a date-time"):
        SignupEvent(platform="mbbank", kind="install", external_id="1", occurred_at="yesterday")
    with pytest.raises(ValueError, match="not a usable mobile number") as info:
        SignupEvent(platform="mbbank", kind="install", external_id="1", occurred_at="2022-07-01",
                    phone="0243 123 4567")
    assert "0243" not in str(info.value)


@pytest.mark.parametrize("raw", ["912345678.0", "0912 345 6789", "+84 912 345 6789"])
def test_event_phone_error_never_shows_the_number_whatever_the_reason(raw: str) -> None:
    # Review: the converter used the normaliser's free-text reason, which for an invalid
    # number quotes it ("invalid number (11 digits in national form 09123456780)").  A
    # third-party source following docs/plugins.md puts str(exc) in its Rejection.
    with pytest.raises(ValueError, match="not a usable mobile number") as info:
        SignupEvent(platform="mbbank", kind="install", external_id="1", occurred_at="2022-07-01", phone=raw)
    digits = "".join(c for c in raw if c.isdigit())
    assert digits[-6:] not in "".join(c for c in str(info.value) if c.isdigit())


@pytest.mark.parametrize("field", ["occurred_at", "kind"])
def test_a_number_in_the_wrong_field_is_not_echoed_in_the_error(field: str) -> None:
    # Review: a column mapped to the wrong header (occurred_at = "SĐT") quoted every
    # phone number in its rejection: on stderr and in the store's rejections table.
    values = {"platform": "mbbank", "kind": "install", "external_id": "1", "occurred_at": "2022-07-01",
              field: "0912 345 678"}
    with pytest.raises(ValueError) as info:
        SignupEvent(**values)
    assert "345" not in str(info.value) and "looks like a phone number" in str(info.value)
    with pytest.raises(ValueError, match="'2022-07-01T25:00'"):  # other values are still quoted
        SignupEvent(**{**values, field: "2022-07-01T25:00"})


def test_duplicates_within_and_across_batches_and_sources_are_one_event(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock
) -> None:
    first = source(rows=rows("a", "b", "a", "c"))
    second = ListSource(key="other", platform="mbbank", rows=rows("c", "d"))
    report = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": first, "other": second})
    assert report.as_dict()["sources"] == {
        "test": {"read": 4, "accepted": 3, "duplicates": 1, "rejected": 0, "unattributed": 3},
        "other": {"read": 2, "accepted": 1, "duplicates": 1, "rejected": 0, "unattributed": 1},
    }
    assert store.count() == 4


def test_crash_between_batches_resumes_without_skip_or_double(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock
) -> None:
    data = rows(*"abcdefg")
    with pytest.raises(RuntimeError, match="crash"):
        ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=data, fail_after=2)})
    assert store.count() == 4 and store.position("test") == '{"done": 4}'
    report = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=data)})
    assert report.sources["test"].read == 3 and report.sources["test"].duplicates == 0
    assert store.count() == 7


def test_a_failed_batch_stores_nothing_not_even_its_position(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langson_comms.errors import LedgerError

    ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=rows("a", "b"))})
    store._db.execute("CREATE TRIGGER no_c BEFORE INSERT ON signups WHEN NEW.external_id = 'c'"
                      " BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(LedgerError, match="refused"):
        ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=rows("a", "b", "c", "d"))})
    assert store.count() == 2 and store.position("test") == '{"done": 2}'


def test_attribution_rules(campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock) -> None:
    data = [
        {**ROW, "external_id": "known-team", "team_code": "T100"},
        {**ROW, "external_id": "unknown-team", "team_code": "NOPE"},
        {**ROW, "external_id": "commune-one-team", "commune_code": "0100"},
        {**ROW, "external_id": "commune-two-teams", "commune_code": "200"},
        {**ROW, "external_id": "no-team-there", "commune_code": "300"},
        {**ROW, "external_id": "late", "team_code": "T100", "occurred_at": "2023-02-01T08:00:00"},
    ]
    report = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=data)})
    assert report.sources["test"].unattributed == 3
    found = {r[0]: r[1:] for r in store._db.execute(
        "SELECT external_id, team_code, commune_code, rule, in_period, day FROM signups")}
    assert found["known-team"] == ("T100", "100", "team_code", 1, "2022-07-01")
    assert found["unknown-team"] == (None, None, "unattributed", 1, "2022-07-01")
    assert found["commune-one-team"] == ("T100", "100", "commune", 1, "2022-07-01")
    assert found["commune-two-teams"] == (None, "200", "unattributed", 1, "2022-07-01")
    assert found["no-team-there"] == (None, "300", "unattributed", 1, "2022-07-01")
    assert found["late"] == ("T100", "100", "team_code", 0, "2023-02-01")
    status = store.status()
    assert status.total == 6 and status.unattributed == 3 and status.out_of_period == 1
    assert status.by_team == {"T100": 3, "unattributed": 3}


def test_phone_stored_only_as_a_keyed_hash_that_joins_the_ledger_msisdn(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock
) -> None:
    ingest(campaign, store, clock=frozen_clock, env=ENV,
           sources={"test": source(rows=rows("a", phone="0912 345 678"))})
    stored = store._db.execute("SELECT phone, phone_hash FROM signups").fetchone()
    assert stored == (None, phone_hash(KEY.encode(), "+84912345678"))
    assert b"912345678" not in store.path.read_bytes()


def test_the_pseudonym_key_must_be_set(campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock) -> None:
    with pytest.raises(ConfigError, match="LANGSON_COMMS_PSEUDONYM_KEY is not set"):
        ingest(campaign, store, clock=frozen_clock, env={}, sources={"test": source(rows=rows("a"))})


def test_store_file_is_owner_only(store: SqliteSignupStore) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rejected_items_are_counted_and_stored(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock
) -> None:
    data = [*rows("a"), {**ROW, "external_id": ""}, {**ROW, "external_id": "b", "kind": "Bad Kind"}]
    report = ingest(campaign, store, clock=frozen_clock, env=ENV, sources={"test": source(rows=data)})
    counts = report.sources["test"]
    assert (counts.read, counts.accepted, counts.rejected) == (3, 1, 2)
    assert not report.ok
    assert [r.where for r in store.rejections("test")] == ["test:row 1", "test:row 2"]


# --- a third-party source defined in this test suite passes the kit's contract ----------


class TestListSourceContract(SignupSourceContract):
    contributed_class = ListSource
    example_config: Mapping[str, Any] = {"platform": "mbbank"}
    plugin = ListPlugin()

    def source_with(self, tmp_path: Path, items: Sequence[Mapping[str, str]], batch_size: int) -> ListSource:
        return ListSource(key="listed", platform=self.platform, rows=[dict(i) for i in items], per_batch=batch_size)


class TestListSourceContractOnItsOwnPlatform(SignupSourceContract):
    """Review: written from docs/plugins.md, which never mentions the contract's
    ``platform`` class attribute; the source's events carry ``example_config``'s platform."""

    contributed_class = ListSource
    example_config: Mapping[str, Any] = {"platform": "postmart"}
    plugin = ListPlugin()

    def source_with(self, tmp_path: Path, items: Sequence[Mapping[str, str]], batch_size: int) -> ListSource:
        return ListSource(key="listed", platform="postmart", rows=[dict(i) for i in items], per_batch=batch_size)


def test_a_receiving_source_is_not_ingested_and_says_what_to_run(
    campaign: Campaign, store: SqliteSignupStore, frozen_clock: FrozenClock, tmp_path: Path,
    list_runtime: Any,
) -> None:
    import attrs

    from langson_comms.signups import SignupsPlan

    @attrs.frozen
    class Receiver(ListSource):  # stands in for a webhook source
        name: ClassVar[str] = "receiver"
        polling: ClassVar[bool] = False

    receiver = Receiver(key="hook", platform="mbbank")
    plan = attrs.evolve(campaign.signups, sources={**campaign.signups.sources, "hook": receiver})
    with_hook = attrs.evolve(campaign, signups=plan)
    assert isinstance(plan, SignupsPlan)
    report = ingest(with_hook, store, clock=frozen_clock, env=ENV)  # no key: polling sources only
    assert list(report.sources) == ["test"]
    with pytest.raises(ConfigError, match="run it with 'signups serve hook'"):
        ingest(with_hook, store, clock=frozen_clock, env=ENV, keys=["hook"])
