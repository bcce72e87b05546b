"""``measure`` on real SQLite stores: the SMS ledger's deliveries matched with sign-ups
through the keyed phone hash, the carriers' subscriber base, and store-less notes."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

from langson_comms import FrozenClock
from langson_comms.campaign import Period
from langson_comms.kpi import load_data, measure
from langson_comms.kpi.hash_cache import HashCache
from langson_comms.signups import Pseudonymizer, SqliteSignupStore, StoredSignup
from langson_comms.sms.ledger import DeliveryReport, Recipient, Result, SmsState, SqliteLedger, open_ledger
from langson_comms.testing.kpi_contract import contract_kpi_campaign

TZ = "Asia/Ho_Chi_Minh"
NUMBERS = ("+84912345671", "+84912345672", "+84912345673")


def at(day: int, hour: int = 10) -> float:
    return pendulum.datetime(2022, 7, day, hour, tz=TZ).timestamp()


def stored(external_id: str, when: float, phone_hash: str | None, team: str) -> StoredSignup:
    day = pendulum.from_timestamp(when, tz=TZ).date().isoformat()
    return StoredSignup("cong_dan_so_xu_lang", "install", external_id, when, day, phone_hash, None,
                        "100", team, "team_code", team, "100", True, "test")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_installs_reached_by_sms_through_the_real_ledger(tmp_path: Path, backend: str,
                                                        request: pytest.FixtureRequest) -> None:
    campaign = contract_kpi_campaign()
    pseudonymizer = Pseudonymizer(key=b"k" * 32)
    where = (tmp_path / "ledger.sqlite" if backend == "sqlite"
             else request.getfixturevalue("postgres_url"))
    with open_ledger(where) as ledger, \
            SqliteSignupStore(tmp_path / "signups.sqlite") as store:
        ledger.enqueue(campaign.id, "invite", [Recipient(n) for n in NUMBERS], promotional=True, now=at(1))
        claimed = ledger.claim(campaign.id, "invite", at(1), 10)
        ledger.record([Result(row.id, SmsState.ACCEPTED, gateway="g", carrier_id=f"c{i}")
                       for i, row in enumerate(claimed)], at(1))
        # the first two are delivered on 07-02; the third fails
        ledger.record_reports([DeliveryReport(f"c{i}", "delivered") for i in range(2)]
                              + [DeliveryReport("c2", "failed")], at(2), gateway="g")
        ledger.order_broadcast(campaign.id, "viettel", "invite", at(1))
        ledger.report_broadcast(campaign.id, "viettel", "invite", subscribers=500, sent=480, delivered=450,
                                now=at(3))
        hashes = [pseudonymizer.hash(n) for n in NUMBERS]
        store.store_batch("test", [
            stored("a", at(3), hashes[0], "T100"),   # a day after its SMS: reached
            stored("b", at(10, 9), hashes[1], "T100"),  # ~8 days after: outside the 7-day window
            stored("c", at(4), hashes[2], "T200"),   # its SMS was never delivered
            stored("d", at(4), None, "T200"),        # no number: cannot be matched
        ], [], None, at(4))
        period = Period(campaign.period.start, pendulum.date(2022, 7, 10))
        result = measure(campaign, period, clock=FrozenClock(pendulum.datetime(2022, 7, 10, tz=TZ)),
                         signups=store, ledger=ledger, reach=[], phone_hasher=pseudonymizer.hash)
        assert load_data(campaign, period, ledger=ledger).sms_subscribers == 500  # the coverage bound
    attribution = result.attribution
    assert attribution is not None
    assert (attribution.installs, attribution.with_phone, attribution.reached_by_sms) == (4, 3, 1)
    assert attribution.sms_matched
    assert result.compliance is not None
    assert result.compliance.sms_delivery_rate == 2 / 3  # delivered / (delivered + failed + expired)
    assert result.leaderboard is not None
    assert {r.team_code: r.installs for r in result.leaderboard.rows} == {"T100": 2, "T200": 2, "T300": 0}


def test_without_stores_the_figures_are_zero_and_said_so() -> None:
    campaign = contract_kpi_campaign()
    result = measure(campaign, campaign.period, clock=FrozenClock(pendulum.datetime(2022, 7, 10, tz=TZ)),
                     reach=[])
    assert result.attribution is not None and not result.attribution.sms_matched
    assert "no sign-up store: installs are 0" in result.notes
    assert result.attribution.note == "no SMS ledger"


def test_the_hash_cache_hashes_only_new_ledger_rows_and_gives_the_same_match(tmp_path: Path) -> None:
    campaign = contract_kpi_campaign()
    pseudonymizer = Pseudonymizer(key=b"k" * 32)
    calls: list[str] = []

    def hasher(msisdn: str) -> str:
        calls.append(msisdn)
        return pseudonymizer.hash(msisdn)

    clock = FrozenClock(pendulum.datetime(2022, 7, 10, tz=TZ))
    period = Period(campaign.period.start, pendulum.date(2022, 7, 10))
    with SqliteLedger(tmp_path / "ledger.sqlite") as ledger, \
            SqliteSignupStore(tmp_path / "signups.sqlite") as store, HashCache(tmp_path / "hashes") as cache:
        def deliver(numbers: tuple[str, ...], message: str) -> None:
            ledger.enqueue(campaign.id, message, [Recipient(n) for n in numbers], promotional=True, now=at(1))
            claimed = ledger.claim(campaign.id, message, at(1), 10)
            ledger.record([Result(r.id, SmsState.ACCEPTED, gateway="g", carrier_id=f"{message}{r.id}")
                           for r in claimed], at(1))
            ledger.record_reports([DeliveryReport(f"{message}{r.id}", "delivered") for r in claimed], at(2),
                                  gateway="g")

        deliver(NUMBERS[:2], "m1")
        store.store_batch("test", [stored(f"s{i}", at(3), pseudonymizer.hash(n), "T100")
                                   for i, n in enumerate(NUMBERS)], [], None, at(4))

        def reached() -> int:
            result = measure(campaign, period, clock=clock, signups=store, ledger=ledger, reach=[],
                             phone_hasher=hasher, hash_cache=cache)
            assert result.attribution is not None
            return result.attribution.reached_by_sms

        uncached = measure(campaign, period, clock=clock, signups=store, ledger=ledger, reach=[],
                           phone_hasher=pseudonymizer.hash)
        assert uncached.attribution is not None and uncached.attribution.reached_by_sms == 2
        assert reached() == 2
        first = len(calls)
        assert reached() == 2 and len(calls) == first + 1  # only the key's probe: no row hashed again
        deliver(NUMBERS[2:], "m2")
        assert reached() == 3 and len(calls) == first + 3  # the probe and the one new row
    assert (tmp_path / "hashes").stat().st_mode & 0o777 == 0o600


def test_the_hash_cache_looks_up_each_wanted_hash_not_every_cached_row(tmp_path: Path) -> None:
    # with a million cached hashes and a third of 100,000 sign-ups wanted, walking every
    # cached row and probing the wanted set cost ~4x more than probing the cache per wanted hash
    pseudonymizer = Pseudonymizer(key=b"k" * 32)
    statements: list[str] = []
    with SqliteLedger(tmp_path / "ledger.sqlite") as ledger, HashCache(tmp_path / "hashes") as cache:
        ledger.enqueue("c", "m", [Recipient(n) for n in NUMBERS], promotional=True, now=at(1))
        cache._db.set_trace_callback(statements.append)
        assert cache.deliveries(ledger, "c", pseudonymizer.hash, {pseudonymizer.hash(NUMBERS[0])}) == {}
        cache._db.set_trace_callback(None)
        joins = [s for s in statements if " JOIN " in s.upper()]
        assert joins
        for sql in joins:
            plan = [str(r[3]) for r in cache._db.execute("EXPLAIN QUERY PLAN " + sql)]
            assert plan[0].startswith("SCAN w") and "(key_id=? AND hash=?)" in plan[1], plan


def test_the_signup_cache_reads_only_new_rows_in_the_store_order_and_rereads_a_replaced_store(
        tmp_path: Path) -> None:
    from langson_comms.kpi import SignupCache, SignupFact

    cache = SignupCache()
    path = tmp_path / "signups.sqlite"

    def fresh(store: SqliteSignupStore) -> list[SignupFact]:
        return [SignupFact(*row) for row in store.events("2022-07-01", "2022-07-31")]

    with SqliteSignupStore(path) as store:
        store.store_batch("t", [stored(f"a{i}", at(5, 10 + i), None, "T1") for i in range(3)], [], None, at(9))
        assert cache.facts(store, "2022-07-01", "2022-07-31") == fresh(store) and cache.last_read == 3
        # stored later, but one happened earlier and one at the same instant as a stored one
        store.store_batch("t", [stored("b0", at(5, 11), None, "T2"), stored("b1", at(4), None, "T3"),
                                stored("b2", at(6), None, "T4")], [], None, at(9))
        got = cache.facts(store, "2022-07-01", "2022-07-31")
        assert cache.last_read == 3 and got == fresh(store) and len(got) == 6
        assert [f.team_code for f in got] == ["T3", "T1", "T1", "T2", "T1", "T4"]
        assert cache.facts(store, "2022-07-01", "2022-07-31") == got and cache.last_read == 0
        assert cache.facts(store, "2022-07-05", "2022-07-05") == fresh(store)[1:5]  # other days: read whole
    path.unlink()
    with SqliteSignupStore(path) as store:  # a rebuilt store: read whole
        store.store_batch("t", [stored("c0", at(7), None, "T9")], [], None, at(9))
        assert [f.team_code for f in cache.facts(store, "2022-07-01", "2022-07-31")] == ["T9"]


def test_a_hash_cache_held_by_another_report_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    """Review11: two reports (or a report and the dashboard) updating the phone-hash cache at
    once: the second got sqlite3.OperationalError "database is locked" ("unexpected" at the CLI)."""
    import sqlite3

    import pytest

    from langson_comms.errors import LedgerError

    class Ledger:
        def numbers_after(self, campaign: str, last: int) -> list[tuple[int, str]]:
            return [(1, "+84912345678")]

        def delivered_times(self, ids: list[int]) -> dict[int, float]:
            return {}

    path = tmp_path / "ledger.sqlite.hashes"
    HashCache(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the other report, writing its new hashes
    try:
        with HashCache(path, timeout=0.2) as cache, pytest.raises(LedgerError) as info:
            cache.deliveries(Ledger(), "c", lambda n: "h" + n[-4:], ["h5678"])
        assert str(path) in str(info.value) and "busy" in str(info.value)
        assert "5678" not in str(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
