"""A row whose answer was lost at a gateway (a timeout after the request went out: the
gateway may have taken it) stays with that gateway: when that gateway's circuit opens,
the rows never tried there go on to the next route, but an in-doubt row waits for the
probe and goes again, with the same idempotency key, to the gateway that may have it —
never to a second gateway too (a ZNS *and* an SMS, or two SMS, for one citizen)."""

from __future__ import annotations

import asyncio
from typing import Any

from langson_comms.sms.engine import Routing
from langson_comms.sms.ledger import SqliteLedger

from .conftest import load
from .helpers import gateway, run_engine


def test_a_row_whose_answer_was_lost_is_never_sent_by_a_second_gateway(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    # every other request: taken, its answer held past the client's timeout
    first = carrier_simulator(timeout=0.5, timeout_after_accept=True, hang_seconds=0.4,
                              honour_idempotency=True, seed=3)
    second = carrier_simulator(honour_idempotency=True)
    load(ledger, 300)
    summary = asyncio.run(run_engine(
        ledger, {"first": gateway(first, "first", timeout=0.15),
                 "second": gateway(second, "second")},
        Routing({"viettel": ("first", "second")})))
    assert summary.counts["accepted"] == 300, summary.counts
    by_first = {a.to for a in first.accepted_snapshot()}
    by_second = {a.to for a in second.accepted_snapshot()}
    assert summary.stats.get("breaker_open", 0) >= 1, "the test needs the first circuit to open"
    assert by_second, "rows never tried at the first gateway go on to the second"
    assert by_first & by_second == set(), f"{len(by_first & by_second)} rows sent by both"
    routes = ledger.routes_summary("c", "m")  # a lost answer is not a refusal
    assert not any(k.endswith(":in_doubt") for k in routes["fallbacks"]), routes
