"""End to end: the project's DispatchEngine and SqliteLedger sending through the SMPP
gateway to the test SMSC, receipts stored by the ReportPoller."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from langson_comms_smpp import SmppGateway
from langson_comms_smpp.testing import TestSmsc
from smpp_helpers import make_gateway

from langson_comms.errors import PermanentGatewayError
from langson_comms.messages import Message
from langson_comms.sms.engine import DispatchEngine, RetryPolicy, Routing
from langson_comms.sms.ledger import Recipient, SmsState, SqliteLedger
from langson_comms.sms.reports import ReportPoller

NOTICE = Message("m", "Thông báo: tải ứng dụng Công dân số Xứ Lạng",
                 classification="public_notice", classified_by="Sở TT&TT")


def _engine(ledger: SqliteLedger, gateway: SmppGateway) -> DispatchEngine:
    return DispatchEngine(ledger, {"smpp": gateway}, Routing(default="smpp"), campaign="c",
                          message=NOTICE, breaker_reset=0.2,
                          retry=RetryPolicy(max_attempts=12, base_delay=0.02, max_delay=0.3))


async def _until_reported(ledger: SqliteLedger, poller: ReportPoller, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        await poller.poll_once()
        counts = ledger.counts("c")
        if counts[SmsState.ACCEPTED] == 0 or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.05)


def test_every_row_accepted_then_delivered_with_throttling_and_no_duplicates(tmp_path: Path) -> None:
    numbers = [f"+849120{i:05d}" for i in range(300)]

    async def main() -> None:
        async with TestSmsc(throttle_every=7) as smsc:
            with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
                ledger.enqueue("c", "m", [Recipient(n, "viettel") for n in numbers],
                               promotional=False)
                async with make_gateway(smsc, window=16) as gateway:
                    summary = await _engine(ledger, gateway).run()
                    poller = ReportPoller(ledger, [gateway])
                    counts = await _until_reported(ledger, poller, 10)
                assert counts[SmsState.DELIVERED] == len(numbers), (counts, summary)
                assert sum(counts.values()) == len(numbers)
                assert gateway.stats["status_0x58"] > 0  # throttling happened and was retried
                assert smsc.submits > len(numbers)
        seen = Counter(s.destination for s in smsc.accepted)
        assert sorted(seen) == sorted(n.removeprefix("+") for n in numbers)
        assert max(seen.values()) == 1, "the SMSC accepted a message twice"
        assert {s.data_coding for s in smsc.accepted} == {8}

    asyncio.run(asyncio.wait_for(main(), 60))


def test_bind_refusal_stops_the_run_with_rows_queued(tmp_path: Path) -> None:
    async def main() -> None:
        async with TestSmsc(password="changed") as smsc:
            with SqliteLedger(tmp_path / "ledger.sqlite") as ledger:
                ledger.enqueue("c", "m", [Recipient(f"+849120{i:05d}", "viettel")
                                          for i in range(20)], promotional=False)
                async with make_gateway(smsc) as gateway:
                    with pytest.raises(PermanentGatewayError) as info:
                        await _engine(ledger, gateway).run()  # the engine stops and says why
                counts = ledger.counts("c")
            assert info.value.status == 401 and "ESME_RINVPASWD" in str(info.value)
            assert counts[SmsState.QUEUED] == 20, counts
            assert smsc.submits == 0 and smsc.refused_binds >= 1

    asyncio.run(asyncio.wait_for(main(), 30))
