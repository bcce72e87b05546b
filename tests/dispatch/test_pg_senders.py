"""Several senders on one campaign on PostgreSQL (issue 12 item 3): each row sent once,
the gateway's rate held in total, a killed sender's rows finished by the others after its
lease, pause seen by every sender.  Real ``sms resume`` processes, a real PostgreSQL server
(the test kit's throwaway one) and the loopback carrier simulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from langson_comms.errors import SenderBusyError
from langson_comms.sms.lease import LeaseOwner, SenderLease
from langson_comms.sms.ledger import Recipient, Result, SmsState, SqliteLedger, open_ledger
from langson_comms.sms.shared_ratelimit import RateBucketStore, SharedRateLimiter

from .test_crash_resume import start, wait_until, write_campaign


def campaign(tmp: Path, sim: Any, url: str, *, rate: int, max_batch: int, ttl: float = 30.0,
             renew_every: float = 10.0, timeout: float = 2.0) -> Path:
    path = write_campaign(tmp, sim, n=1, rate=rate, max_batch=max_batch)
    text = path.read_text(encoding="utf-8").replace('ledger = "work/ledger.sqlite"',
                                                    f'ledger = "{url}"')
    text = text.replace("timeout = 2.0", f"timeout = {timeout}")
    text += f"\n[channels.sms.lease]\nttl = {ttl}\nrenew_every = {renew_every}\n"
    path.write_text(text, encoding="utf-8")
    return path


def load(url: str, n: int) -> None:
    with open_ledger(url) as ledger:
        ledger.enqueue("crash", "invite",
                       (Recipient(f"+8491{i:07d}", "viettel", {"ten": f"Ban {i}"})
                        for i in range(n)), promotional=False, now=time.time())


def senders(tmp: Path, k: int) -> list[subprocess.Popen[str]]:
    return [start(tmp, "resume", "campaign.toml", "--no-progress", "--json") for _ in range(k)]


def finish(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, Any]]:
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, stderr
        out.append(json.loads(stdout))
    return out


def sent_once(sim: Any, n: int) -> None:
    """Every row reached the carrier exactly once, counted by idempotency key."""
    accepted = sim.accepted_snapshot()
    keys = Counter(a.request_id for a in accepted)
    assert len(keys) == n and max(keys.values()) == 1
    assert {a.to for a in accepted} == {f"+8491{i:07d}" for i in range(n)}
    assert sim.duplicates() == {}


def test_four_senders_send_50000_rows_once_at_the_configured_rate_in_total(
        tmp_path: Path, carrier_simulator: Any, postgres_url: str) -> None:
    n, rate = 50_000, 2000
    # does NOT de-duplicate: a row sent by two senders would be accepted twice (a long
    # timeout: no resend of a slow answer under load)
    sim = carrier_simulator()
    campaign(tmp_path, sim, postgres_url, rate=rate, max_batch=50, timeout=15.0)
    load(postgres_url, n)
    procs = senders(tmp_path, 4)
    summaries = finish(procs, timeout=120)
    assert all(s["outcome"] == "completed" for s in summaries)
    with open_ledger(postgres_url) as ledger:
        counts = ledger.counts("crash", "invite")
    assert counts["accepted"] == n and sum(counts.values()) == n
    sent_once(sim, n)
    # every sender took a share of the rows
    assert all(s["stats"].get("accepted", 0) > n // 20 for s in summaries), summaries
    # the rate over the steady part (the middle 80 % of the messages), all senders together
    times = sorted(a.at for a in sim.accepted_snapshot())
    lo, hi = times[n // 10], times[n - n // 10]
    measured = (n - 2 * (n // 10)) / (hi - lo)
    assert abs(measured - rate) <= 0.05 * rate, f"{measured:.0f} msg/s for {rate} configured"


def test_a_sender_killed_mid_run_leaves_its_rows_to_the_others_after_its_lease(
        tmp_path: Path, carrier_simulator: Any, postgres_url: str) -> None:
    n, ttl = 6000, 2.0
    sim = carrier_simulator(honour_idempotency=True)
    campaign(tmp_path, sim, postgres_url, rate=1500, max_batch=20, ttl=ttl, renew_every=0.5)
    load(postgres_url, n)
    procs = senders(tmp_path, 3)
    victim = procs[0]
    wait_until(lambda: len(sim.accepted_snapshot()) >= n // 4, 60)
    # the victim holds rows when it dies: stop it, look at what it holds, and go on until
    # it holds some (a running sender's claims come and go in milliseconds)
    held: list[int] = []
    deadline = time.monotonic() + 30
    with psycopg.connect(postgres_url, autocommit=True) as db:
        while not held and time.monotonic() < deadline:
            victim.send_signal(signal.SIGSTOP)
            held = [r[0] for r in db.execute(  # the rows it holds, stamped with its token
                "SELECT s.id FROM sms s JOIN senders x ON x.token=s.claimed_by"
                " WHERE x.pid=%s AND s.state='submitted'", (victim.pid,))]
            if not held:
                victim.send_signal(signal.SIGCONT)
                time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    killed_at = time.monotonic()
    assert held, "the victim held no rows when killed"
    summaries = finish(procs[1:], timeout=120)
    assert all(s["outcome"] == "completed" for s in summaries)
    with open_ledger(postgres_url) as ledger:
        counts = ledger.counts("crash", "invite")
    assert counts["accepted"] == n and sum(counts.values()) == n, counts  # 0 lost
    sent_once(sim, n)  # 0 duplicates at the idempotent gateway
    # the survivors took the victim's rows back after its lease, in the same run (none
    # at their start), and sent them
    assert sum(s["recovered"] for s in summaries) == 0
    assert time.monotonic() - killed_at >= ttl
    with open_ledger(postgres_url) as ledger:
        states = {r.id: r.state for r in ledger.rows("crash", "invite")}
    assert {states[i] for i in held} == {SmsState.ACCEPTED}


def test_pause_is_seen_by_every_sender_and_running_again_goes_on(
        tmp_path: Path, carrier_simulator: Any, postgres_url: str) -> None:
    n = 12_000
    sim = carrier_simulator(honour_idempotency=True)
    campaign(tmp_path, sim, postgres_url, rate=1000, max_batch=20)
    load(postgres_url, n)
    procs = senders(tmp_path, 3)
    wait_until(lambda: len(sim.accepted_snapshot()) >= 1000, 60)
    with open_ledger(postgres_url) as ledger:
        ledger.set_control("crash", "invite", "paused")
        paused_at = time.monotonic()
        # every sender stops sending and gives its claimed rows back, within a bound
        wait_until(lambda: ledger.counts("crash", "invite")["submitted"] == 0, 5)
        seen = time.monotonic() - paused_at
        accepted = len(sim.accepted_snapshot())
        time.sleep(0.5)
        assert len(sim.accepted_snapshot()) == accepted < n, "a sender went on sending"
        assert all(p.poll() is None for p in procs)  # paused, not ended
        assert seen < 5.0
        ledger.set_control("crash", "invite", "running")
    summaries = finish(procs, timeout=60)
    assert all(s["outcome"] == "completed" for s in summaries)
    sent_once(sim, n)


def test_two_senders_on_sqlite_are_still_refused(tmp_path: Path) -> None:
    with SqliteLedger(tmp_path / "l.sqlite") as one, SqliteLedger(tmp_path / "l.sqlite") as two:
        SenderLease(one, "c", "m").acquire()
        with pytest.raises(SenderBusyError, match="another sender is already sending"):
            SenderLease(two, "c", "m", process_gone=lambda pid: False).acquire()


def test_senders_on_postgresql_share_a_message(postgres_url: str) -> None:
    with open_ledger(postgres_url) as one, open_ledger(postgres_url) as two:
        a, b = SenderLease(one, "c", "m"), SenderLease(two, "c", "m")
        with a, b:
            assert not a.lost and not b.lost


# -- the same, one step at a time on the store ------------------------------------------

def register(store: Any, ttl: float = 30.0) -> LeaseOwner:
    owner = LeaseOwner()
    store.acquire_lease("c", "m", owner, time.time(), ttl)
    return owner


def test_a_starting_sender_leaves_the_rows_of_live_senders_alone(postgres_url: str) -> None:
    with open_ledger(postgres_url) as a, open_ledger(postgres_url) as b:
        load_rows(a, 10)
        register(a)
        assert len(a.claim("c", "m", time.time(), 4)) == 4
        register(b)
        assert b.recover_in_flight("c", "m") == 0  # before: all 4, sent again by b
        assert b.counts("c", "m")["submitted"] == 4
        assert {r.id for r in b.claim("c", "m", time.time(), 100)} == set(range(5, 11))
        # a sender with nothing left to claim waits for the rows others hold
        due = b.next_due("c", "m")
        assert due is not None and due > time.time()


def test_a_stalled_sender_whose_rows_were_taken_back_writes_nothing(postgres_url: str) -> None:
    with open_ledger(postgres_url) as stalled, open_ledger(postgres_url) as other:
        load_rows(stalled, 5)
        register(stalled, ttl=0.3)  # no heartbeat: it stalls
        rows = stalled.claim("c", "m", time.time(), 5)
        time.sleep(0.5)
        register(other)
        assert other.recover_in_flight("c", "m") == 5  # its lease and registration passed
        taken = other.claim("c", "m", time.time(), 5)
        assert [r.id for r in taken] == [r.id for r in rows]
        assert [r.idempotency_key for r in taken] == [r.idempotency_key for r in rows]
        with pytest.raises(SenderBusyError, match="taken back by another sender"):
            stalled.record([Result(r.id, SmsState.FAILED, reason="x") for r in rows],
                           time.time())
        with pytest.raises(SenderBusyError):
            stalled.claim("c", "m", time.time(), 5)
        other.record([Result(r.id, SmsState.ACCEPTED, gateway="g", carrier_id=f"X{r.id}")
                      for r in taken], time.time())
        assert other.counts("c", "m")["accepted"] == 5


def test_a_row_claimed_again_is_not_overwritten_by_its_first_claimer(postgres_url: str) -> None:
    """The per-row stamp alone fences: even with its registration back, the first
    claimer's outcome does not land on a row another sender now holds."""
    with open_ledger(postgres_url) as first, open_ledger(postgres_url) as second:
        load_rows(first, 1)
        owner = register(first, ttl=0.3)
        row = first.claim("c", "m", time.time(), 1)[0]
        time.sleep(0.5)
        register(second)
        second.recover_in_flight("c", "m")
        assert second.claim("c", "m", time.time(), 1)[0].id == row.id
        first.acquire_lease("c", "m", owner, time.time(), 30.0)  # registers again
        first.record([Result(row.id, SmsState.FAILED, reason="stale")], time.time())
        assert next(first.rows("c", "m")).state is SmsState.SUBMITTED


def test_two_senders_share_a_gateways_rate(postgres_url: str) -> None:
    rate, seconds = 400.0, 1.5

    async def send(limiter: SharedRateLimiter, until: float) -> int:
        n = 0
        while time.monotonic() < until:
            await limiter.acquire(5, 5)
            n += 5
        return n

    async def both() -> int:
        with open_ledger(postgres_url) as a, open_ledger(postgres_url) as b:
            assert isinstance(a, RateBucketStore)
            limiters = [SharedRateLimiter(s, "sim", rate, None, burst=0.05) for s in (a, b)]
            until = time.monotonic() + seconds
            counts = await asyncio.gather(*(send(lim, until) for lim in limiters))
        assert min(counts) > 0
        return sum(counts)

    total = asyncio.run(both())
    # one batch each may be bought at the end and not spent; the burst at the start
    assert abs(total / seconds - rate) <= 0.1 * rate, total / seconds


def load_rows(store: Any, n: int) -> None:
    store.enqueue("c", "m", (Recipient(f"+8491{i:07d}", "viettel") for i in range(n)),
                  promotional=False, now=time.time())


def test_a_dead_sender_of_this_host_leaves_its_rows_at_once(postgres_url: str) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid whose process is gone
    with open_ledger(postgres_url) as dead, open_ledger(postgres_url) as fresh:
        load_rows(dead, 6)
        owner = LeaseOwner(pid=gone.pid)  # this host
        dead.acquire_lease("c", "m", owner, time.time(), 30.0)
        assert len(dead.claim("c", "m", time.time(), 4)) == 4
        with SenderLease(fresh, "c", "m"):  # kill -9, then sms resume straight away
            assert fresh.counts("c", "m")["submitted"] == 0  # no 30 s wait
            assert [s.pid for s in fresh.senders("c", "m")] == [os.getpid()]
            assert len(fresh.claim("c", "m", time.time(), 10)) == 6


def test_a_sender_of_another_host_keeps_its_rows_until_its_lease(postgres_url: str) -> None:
    with open_ledger(postgres_url) as other, open_ledger(postgres_url) as fresh:
        load_rows(other, 6)
        other.acquire_lease("c", "m", LeaseOwner(host="elsewhere", pid=1), time.time(), 30.0)
        assert len(other.claim("c", "m", time.time(), 4)) == 4
        with SenderLease(fresh, "c", "m", process_gone=lambda pid: True):
            assert fresh.recover_in_flight("c", "m") == 0
            assert fresh.counts("c", "m")["submitted"] == 4
