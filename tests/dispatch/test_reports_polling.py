"""ReportPoller: one poll drains every page waiting (the simulator pages at 1,000), and a
poll that fails in any way is counted and logged, never ends the polling task."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from langson_comms.config import ConfigContext
from langson_comms.sms.gateway import SmsGateway
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.sms.ledger import DeliveryReport, SqliteLedger
from langson_comms.sms.reports import ReportPoller


def _gateway(url: str, poll_url: str) -> GenericHttpGateway:
    return GenericHttpGateway.from_config({"url": url, "poll_url": poll_url},
                                          ConfigContext("c.toml", Path("."), "g"))


def test_one_poll_fetches_every_page(ledger: SqliteLedger, carrier_simulator: Any) -> None:
    sim = carrier_simulator(dlr_polling=True, record=False)
    msgs = [{"to": f"+8491{i:07d}", "text": "x", "ref": str(i)} for i in range(2500)]
    assert len(httpx.post(sim.batch_url, json={"messages": msgs}, timeout=30)
               .json()["results"]) == 2500
    gw = _gateway(sim.url, sim.poll_url)

    async def main() -> ReportPoller:
        client = gw.make_client()
        gw.bind_client(client)
        try:
            poller = ReportPoller(ledger, [gw])
            await poller.poll_once()
            return poller
        finally:
            await client.aclose()

    poller = asyncio.run(main())
    assert poller.counters["received"] == 2500 and poller.counters["pages"] == 3
    stored = ledger._db.execute("SELECT count(*), min(gateway), max(gateway) FROM reports")
    assert stored.fetchone() == (2500, "g", "g")  # the poller names its gateway


class _Broken(SmsGateway):
    """A polling plugin with a bug: it raises something outside the error tree."""

    name = "broken"

    def __init__(self) -> None:
        from langson_comms.sms.gateway import GatewayCapabilities

        super().__init__("broken", GatewayCapabilities(supports_polling=True))
        self.calls = 0

    @classmethod
    def from_config(cls, config: Any, context: Any) -> _Broken:  # pragma: no cover
        return cls()

    async def send(self, batch: Any) -> Any:  # pragma: no cover - never sends
        raise NotImplementedError

    async def poll_reports(self) -> list[DeliveryReport]:
        self.calls += 1
        if self.calls % 2:
            raise KeyError("vendor answer without 'data'")
        return [DeliveryReport(f"B{self.calls}", "delivered")]


def test_the_poller_survives_any_failure(tmp_path: Path) -> None:
    async def main() -> tuple[ReportPoller, _Broken]:
        # a server answering something that is not HTTP
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(65536)
            writer.write(b"HELLO\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        gw = _gateway(f"http://127.0.0.1:{port}/s", f"http://127.0.0.1:{port}/r")
        broken = _Broken()
        client = gw.make_client()
        gw.bind_client(client)
        with SqliteLedger(tmp_path / "l.sqlite") as ledger:
            poller = ReportPoller(ledger, [gw, broken], interval=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            # until a few intervals went by (polled, not slept: a loaded machine is slow)
            deadline = time.monotonic() + 10
            while broken.calls < 4:
                assert not task.done() and time.monotonic() < deadline, poller.counters
                await asyncio.sleep(0.02)
            assert not task.done()
            stop.set()
            try:
                await asyncio.wait_for(task, 30)
            finally:
                await client.aclose()
                server.close()
        return poller, broken

    poller, broken = asyncio.run(main())
    assert broken.calls >= 4
    # every interval: the non-HTTP answer and the plugin's KeyError are both counted
    assert poller.counters["errors"] >= broken.calls // 2 + 2
    assert poller.counters["received"] >= 1  # the good polls in between still count
