"""The sending lease lives in the ledger: no path alias, hard link or second host can run
two senders on one message, and a killed sender's lease is taken over after it expires
(issue 13 item 5)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import pytest

from langson_comms.clock import FrozenClock
from langson_comms.errors import LedgerError, SenderBusyError
from langson_comms.sms.engine import DispatchEngine, Routing
from langson_comms.sms.lease import LeaseOwner, SenderLease
from langson_comms.sms.ledger import Ledger, SqliteLedger

from .conftest import load
from .helpers import NOTICE, gateway


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Iterator[Callable[[], Ledger]]:
    """Handles on one SQLite ledger: the one-sender rule is SQLite's.  On PostgreSQL
    several senders share a message (tests/dispatch/test_pg_senders.py)."""
    opened: list[Ledger] = []

    def make() -> Ledger:
        opened.append(SqliteLedger(tmp_path / "ledger.sqlite"))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def lease(ledger: Ledger, *, clock: FrozenClock | None = None,
          owner: LeaseOwner | None = None, **options: float) -> SenderLease:
    return SenderLease(ledger, "c", "m", clock=clock, owner=owner,
                       process_gone=lambda pid: False, **options)


def test_a_second_sender_through_a_symlink_is_refused_naming_the_first(tmp_path: Path) -> None:
    real = tmp_path / "work" / "ledger.sqlite"
    alias = tmp_path / "alias.sqlite"
    with SqliteLedger(real) as first:
        alias.symlink_to(real)
        with SqliteLedger(alias) as second:
            with lease(first, owner=LeaseOwner(host="sender-a", pid=4242)):
                with pytest.raises(SenderBusyError) as info:
                    lease(second).acquire()
            assert "pid 4242 on sender-a" in str(info.value)
            assert "heartbeat 0 s ago" in str(info.value)
            # released at the end: the next sender goes
            with lease(second):
                pass


def test_a_ledger_reached_through_a_hard_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "ledger.sqlite"
    with SqliteLedger(real) as first, lease(first):
        os.link(real, tmp_path / "other-name.sqlite")
        with pytest.raises(LedgerError, match=r"2 names \(hard links\)"):
            SqliteLedger(tmp_path / "other-name.sqlite")
        with pytest.raises(LedgerError, match="hard links"):
            SqliteLedger(real)  # by either name: they would not see each other's writes


def test_a_lease_left_by_a_killed_sender_is_taken_over_only_after_it_expires(
        sqlite_factory: Callable[[], Ledger]) -> None:
    clock = FrozenClock(pendulum.datetime(2022, 6, 10, 8, tz="Asia/Ho_Chi_Minh"))
    with sqlite_factory() as store:
        killed = lease(store, clock=clock, owner=LeaseOwner(host="other-host", pid=1),
                       ttl=30, renew_every=10)
        killed.acquire()
        killed._stop.set()  # its heartbeat dies with it (kill -9): no more renewals
        clock.advance(29)
        with pytest.raises(SenderBusyError, match="expires in 1 s"):
            lease(store, clock=clock).acquire()
        clock.advance(2)
        taker = lease(store, clock=clock)
        taker.acquire()
        held = store.lease("c", "m")
        assert held is not None and held.owner == taker.owner.token
        # the old holder, should it wake up, learns it lost the lease and must not send
        assert killed.renew() is False
        assert killed.lost is not None and "taken over" in killed.lost
        taker.release()
        assert store.lease("c", "m") is None


def test_a_dead_process_on_the_same_host_leaves_its_lease_at_once(
        sqlite_factory: Callable[[], Ledger]) -> None:
    """kill -9 then 'sms resume' straight away: no wait for the expiry on the same host."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    with sqlite_factory() as store:
        store.acquire_lease("c", "m", LeaseOwner(pid=int(dead.stdout)), time.time(), 30)
        with SenderLease(store, "c", "m"):
            held = store.lease("c", "m")
            assert held is not None and held.pid == os.getpid()
        # a live process (or another host) is waited for
        store.acquire_lease("c", "m", LeaseOwner(pid=os.getppid()), time.time(), 30)
        with pytest.raises(SenderBusyError):
            SenderLease(store, "c", "m").acquire()


def test_the_heartbeat_renews_and_nested_holders_share_one_lease(
        ledger_factory: Callable[[], Ledger]) -> None:
    with ledger_factory() as store:
        # a ttl far above renew_every: a loaded machine may starve the heartbeat thread a
        # while, and this test is about renewing, not about losing the lease
        holder = SenderLease(store, "c", "m", ttl=10, renew_every=0.05)
        with holder:
            first = store.lease("c", "m")
            with holder:  # the engine inside the CLI's hold
                pass
            assert store.lease("c", "m") is not None  # still held by the outer one
            deadline = time.monotonic() + 10
            later = store.lease("c", "m")
            while (first is not None and later is not None
                   and later.renewed_at <= first.renewed_at and time.monotonic() < deadline):
                time.sleep(0.02)  # until the heartbeat renewed it
                later = store.lease("c", "m")
            assert first is not None and later is not None
            assert later.renewed_at > first.renewed_at and later.owner == first.owner
            assert holder.lost is None
        assert store.lease("c", "m") is None


def test_the_engine_holds_the_lease_and_refuses_to_run_beside_another_sender(
        tmp_path: Path, carrier_simulator: object) -> None:
    sim = carrier_simulator()  # type: ignore[operator]
    with SqliteLedger(tmp_path / "ledger.sqlite") as store:
        load(store, 3, message=NOTICE.key)
        other = SenderLease(store, "c", NOTICE.key, owner=LeaseOwner(host="sender-b"),
                            process_gone=lambda pid: False)
        gw = gateway(sim)
        engine = DispatchEngine(store, {"sim": gw}, Routing(default="sim"), campaign="c",
                                message=NOTICE)

        async def main() -> None:
            client = gw.make_client()
            gw.bind_client(client)
            try:
                with other:
                    with pytest.raises(SenderBusyError, match="on sender-b"):
                        await engine.run()
                assert store.counts("c", NOTICE.key)["queued"] == 3  # nothing was touched
                summary = await engine.run()
                assert summary.counts["accepted"] == 3
            finally:
                await client.aclose()

        asyncio.run(main())
        assert store.counts("c", NOTICE.key)["submitted"] == 0
        assert store.lease("c", NOTICE.key) is None  # released at the end of the run


def test_the_lease_timing_is_configured_and_checked(tmp_path: Path,
                                                    carrier_simulator: object) -> None:
    from langson_comms.errors import CampaignFileError
    from langson_comms.runtime import Runtime

    from .test_crash_resume import write_campaign

    path = write_campaign(tmp_path, carrier_simulator(), n=1, rate=10)  # type: ignore[operator]
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n[channels.sms.lease]\nttl = 5\nrenew_every = 2\n",
                    encoding="utf-8")
    channel = Runtime.create(entry_points=False, env={}).load_campaign(path).channel("sms")
    assert (channel.config.lease.ttl, channel.config.lease.renew_every) == (5, 2)
    path.write_text(text + "\n[channels.sms.lease]\nttl = 5\nrenew_every = 5\n",
                    encoding="utf-8")
    with pytest.raises(CampaignFileError, match=r"channels\.sms\.lease\.renew_every: "
                                                r"renew_every \(5\) must be above 0 and below"):
        Runtime.create(entry_points=False, env={}).load_campaign(path)


def test_a_sender_whose_lease_was_taken_over_can_neither_claim_nor_record(
        sqlite_factory: Callable[[], Ledger]) -> None:
    from langson_comms.sms.ledger import Result, SmsState

    with sqlite_factory() as stalled, sqlite_factory() as other:
        load(stalled, 4)
        mine = LeaseOwner(host="sender-a", pid=1)
        stalled.acquire_lease("c", "m", mine, 1000.0, 30)
        (row,) = stalled.claim("c", "m", 1000.0, 1)
        # it stalls past the expiry; another sender takes over and recovers the row
        other.acquire_lease("c", "m", LeaseOwner(host="sender-b", pid=2), 1031.0, 30)
        assert other.recover_in_flight("c", "m") == 1
        (again,) = other.claim("c", "m", 1031.0, 1)
        assert again.id == row.id
        with pytest.raises(SenderBusyError, match="taken over by pid 2 on sender-b"):
            stalled.claim("c", "m", 1032.0, 10)
        with pytest.raises(SenderBusyError):  # its give-back would requeue the other's row
            stalled.record([Result(row.id, SmsState.QUEUED, attempted=False)], 1032.0)
        with pytest.raises(SenderBusyError):
            stalled.recover_in_flight("c", "m")
        assert other.counts("c", "m")["submitted"] == 1  # still the other sender's


def test_an_engine_that_loses_its_lease_stops_sending(sqlite_factory: Callable[[], Ledger],
                                                      carrier_simulator: object) -> None:
    sim = carrier_simulator()  # type: ignore[operator]
    with sqlite_factory() as store, sqlite_factory() as other:
        load(store, 400, message=NOTICE.key)
        gw = gateway(sim, rate_msgs=100)
        engine = DispatchEngine(store, {"sim": gw}, Routing(default="sim"), campaign="c",
                                message=NOTICE, claim_size=20)

        async def main() -> None:
            client = gw.make_client()
            gw.bind_client(client)
            try:
                task = asyncio.ensure_future(engine.run())
                while len(sim.accepted_snapshot()) < 30:
                    await asyncio.sleep(0.01)
                held = other.lease("c", NOTICE.key)
                assert held is not None
                other.acquire_lease("c", NOTICE.key, LeaseOwner(host="sender-b"), time.time(),
                                    30, take_over=held.owner)
                with pytest.raises(SenderBusyError, match="taken over"):
                    await asyncio.wait_for(task, 30)
            finally:
                await client.aclose()

        asyncio.run(main())
        sent = len(sim.accepted_snapshot())
        assert sent < 120  # it stopped within a claim or two, not after all 400
        lease_now = other.lease("c", NOTICE.key)
        assert lease_now is not None and lease_now.host == "sender-b"  # not released by it


def test_a_holder_that_could_not_renew_for_a_whole_ttl_no_longer_trusts_its_lease(
        ledger_factory: Callable[[], Ledger]) -> None:
    ticks = [100.0]
    with ledger_factory() as store:
        holder = SenderLease(store, "c", "m", ttl=30, renew_every=29,
                             monotonic=lambda: ticks[0])
        with holder:
            ticks[0] += 29.9
            assert holder.lost is None
            ticks[0] += 0.1  # e.g. the store was locked, or the process was stopped
            assert holder.lost == "the sending lease was not renewed for 30 s"
