"""``langson_comms.api.send_sms`` used from Python: an injected clock and HTTP client, a
progress callback that sees the final count, and every gateway and client closed after a
success, a failure and a cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from langson_comms import FrozenClock, LedgerError, Runtime, api
from langson_comms.sms.gateway import SmsGateway

CAMPAIGN = """\
[campaign]
id = "apitest"
title = "API test"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang, {{{{ten}}}}"
classification = "public_notice"
classified_by = "So TT&TT"

[channels.sms]
kind = "sms"
mode = "direct"
message = "invite"
brandname = "LANGSON"
ledger = "ledger.sqlite"

[channels.sms.gateways.sim]
kind = "generic_http"
url = "{url}"
supports_idempotency = true
timeout = {timeout}
"""


def _setup(tmp: Path, sim: Any, n: int, timeout: float = 5.0) -> tuple[api.SmsTarget, str]:
    (tmp / "campaign.toml").write_text(CAMPAIGN.format(url=sim.url, timeout=timeout),
                                       encoding="utf-8")
    lines = ["msisdn,carrier_hint,source_file,source_line,ten"]
    lines += [f"+8491{i:07d},viettel,list.csv,{i + 2},Ban {i}" for i in range(n)]
    prepared = tmp / "prepared.csv"
    prepared.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={})
    campaign = api.load_campaign(tmp / "campaign.toml", runtime=runtime)
    return api.sms_target(campaign), str(prepared)


class Tracker:
    """A client factory that records the clients it made and the gateways' closing."""

    def __init__(self) -> None:
        self.clients: list[httpx.AsyncClient] = []
        self.gateways: list[str] = []
        self.closed: list[str] = []

    def __call__(self, gateway: SmsGateway) -> httpx.AsyncClient:
        client = httpx.AsyncClient(timeout=5.0, trust_env=False)
        self.clients.append(client)
        self.gateways.append(gateway.gateway_id)
        close = gateway.close

        async def recording_close() -> None:
            self.closed.append(gateway.gateway_id)
            await close()

        gateway.close = recording_close  # type: ignore[method-assign]
        return client

    def all_closed(self) -> bool:
        return (bool(self.clients) and all(c.is_closed for c in self.clients)
                and sorted(self.closed) == sorted(self.gateways))


def _run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(coro(), timeout=60))


def test_send_with_injected_clock_and_client_reports_the_final_count(
        tmp_path: Path, carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 40)
    clock = FrozenClock("2022-07-01T09:00:00")
    tracker = Tracker()
    events: list[api.SendEvent] = []
    summary = _run(lambda: api.send_sms(target, audience=[prepared], clock=clock,
                                        client_factory=tracker, on_event=events.append))
    assert summary.outcome == "completed"
    assert summary.counts["accepted"] == 40
    assert summary.loaded == (api.AudienceLoaded(prepared, 40, 0),)
    progress = [e for e in events if isinstance(e, api.SendProgress)]
    assert progress[-1].final and progress[-1].done == progress[-1].total == 40
    assert [e.final for e in progress].count(True) == 1
    assert len(sim.accepted_snapshot()) == 40
    assert tracker.all_closed()
    # the injected clock stamped the rows
    with target.open_ledger() as ledger:
        stamps = {r.accepted_at.year for r in ledger.rows("apitest") if r.accepted_at}
    assert stamps == {2022}


def test_a_failed_send_closes_every_gateway_and_client(tmp_path: Path,
                                                        carrier_simulator: Any) -> None:
    sim = carrier_simulator()
    target, prepared = _setup(tmp_path, sim, 5)
    api.pause_sms(target)
    tracker = Tracker()
    with pytest.raises(LedgerError, match="is paused"):
        _run(lambda: api.send_sms(target, audience=[prepared], client_factory=tracker))
    assert tracker.all_closed()
    assert sim.accepted_snapshot() == []


def test_a_cancelled_send_closes_every_gateway_and_client(tmp_path: Path,
                                                           carrier_simulator: Any) -> None:
    sim = carrier_simulator(timeout=1.0)  # every answer held back: requests stay in flight
    target, prepared = _setup(tmp_path, sim, 20, timeout=30.0)
    tracker = Tracker()

    async def cancel_while_sending() -> None:
        started = asyncio.Event()

        def on_event(event: api.SendEvent) -> None:
            if isinstance(event, api.SendProgress):
                started.set()

        task = asyncio.create_task(api.send_sms(target, audience=[prepared], on_event=on_event,
                                                progress_every=0.05, client_factory=tracker))
        await started.wait()
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    _run(cancel_while_sending)
    assert tracker.all_closed()
    with target.open_ledger() as ledger:  # nothing is lost: every row is still counted
        assert sum(ledger.counts("apitest", "invite").values()) == 20
