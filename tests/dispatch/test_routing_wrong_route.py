"""Routing by carrier and number portability (issue 15, item 3): a gateway that answers
"not my subscriber" sends the row on to its next route, durably, against real loopback
simulators and a real SQLite ledger."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from langson_comms.errors import LangsonCommsError
from langson_comms.sms.engine import Routing
from langson_comms.sms.gateway import GatewayCapabilities, OutgoingSms, SmsGateway, SubmitResult
from langson_comms.sms.http_gateway import ResultFormat
from langson_comms.sms.ledger import Ledger, Recipient, SmsState, SqliteLedger, routes_tried

from .conftest import load, numbers
from .helpers import gateway, run_engine

PORTED = "+8491000000"  # numbers +84910000000..+84910000009 were ported away from "v"
WRONG = ResultFormat(wrong_route=["not_subscriber"])


def _rows(ledger: Ledger) -> dict[str, Any]:
    return {r.msisdn: r for r in ledger.rows("c", "m")}


def test_a_ported_number_goes_to_its_next_route_once(
        any_ledger: Ledger, carrier_simulator: Any) -> None:
    ledger = any_ledger  # both backends (SQLite, PostgreSQL)
    v = carrier_simulator(wrong_route_prefixes=(PORTED,))
    agg = carrier_simulator()
    load(ledger, 40)
    summary = asyncio.run(run_engine(ledger, {"v": gateway(v, "v", result=WRONG),
                                        "agg": gateway(agg, "agg")},
                               Routing({"viettel": ("v", "agg")})))
    assert summary.counts["accepted"] == 40
    assert summary.stats["wrong_route"] == 10
    ported = {n for n in numbers(40) if n.startswith(PORTED)}
    assert {a.to for a in agg.accepted_snapshot()} == ported
    assert {a.to for a in v.accepted_snapshot()} == set(numbers(40)) - ported
    assert sorted(v.wrong_routed) == sorted(ported)  # each asked once
    assert v.duplicates() == {} and agg.duplicates() == {}
    for msisdn, row in _rows(ledger).items():
        if msisdn in ported:
            assert row.gateway == "agg"
            assert row.routes_tried == "v:not_subscriber"
            assert row.attempts == 1  # the refusal is not a failed attempt
        else:
            assert (row.gateway, row.routes_tried) == ("v", None)


def test_every_candidate_refusing_fails_the_row_with_the_reasons(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    v = carrier_simulator(wrong_route_prefixes=(PORTED,))
    agg = carrier_simulator(wrong_route_prefixes=(PORTED,), wrong_route_status="no_zalo")
    load(ledger, 12)
    summary = asyncio.run(run_engine(
        ledger, {"v": gateway(v, "v", result=WRONG),
                 "agg": gateway(agg, "agg", result=ResultFormat(wrong_route=["no_zalo"]))},
        Routing({"viettel": ["v", "agg"]})))  # a list is a route too
    assert summary.counts == {**summary.counts, "accepted": 2, "failed": 10}
    for msisdn, row in _rows(ledger).items():
        if msisdn.startswith(PORTED):
            assert row.state is SmsState.FAILED
            assert row.reason == "no_route: v: not_subscriber, agg: no_zalo"
            assert routes_tried(row.routes_tried) == [("v", "not_subscriber"),
                                                      ("agg", "no_zalo")]
    assert len(v.wrong_routed) == len(agg.wrong_routed) == 10


def test_a_refused_gateway_is_not_asked_again_after_a_restart(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    # The refusal was recorded by an earlier run: the row goes straight to "agg".
    v = carrier_simulator()
    agg = carrier_simulator()
    load(ledger, 3)
    first = ledger.claim("c", "m", time.time(), 1)[0]
    from langson_comms.sms.ledger import Result
    ledger.record([Result(first.id, SmsState.QUEUED, attempted=False, next_at=0.0,
                          tried="v:not_subscriber")], time.time())
    asyncio.run(run_engine(ledger, {"v": gateway(v, "v"), "agg": gateway(agg, "agg")},
                     Routing({"viettel": ("v", "agg")})))
    assert [a.to for a in agg.accepted_snapshot()] == [first.msisdn]
    assert first.msisdn not in {a.to for a in v.accepted_snapshot()}


def test_the_fallback_list_follows_the_route(ledger: SqliteLedger,
                                                   carrier_simulator: Any) -> None:
    # The old forms: one gateway per carrier and a fallback list; the fallback is a route
    # for a refused row too.
    v = carrier_simulator(wrong_route_prefixes=(PORTED,))
    agg = carrier_simulator()
    ledger.enqueue("c", "m", [Recipient(n, "viettel") for n in numbers(12)],
                   promotional=False, now=time.time())
    summary = asyncio.run(run_engine(ledger, {"v": gateway(v, "v", result=WRONG),
                                        "agg": gateway(agg, "agg")},
                               Routing({"viettel": "v"}, fallback=("agg",))))
    assert summary.counts["accepted"] == 12
    assert len(agg.accepted_snapshot()) == 10


def test_routing_candidates_keep_the_old_forms_and_take_lists() -> None:
    assert Routing({"viettel": "a"}, "b", ("c",)).candidates("viettel") == ("a", "c")
    assert Routing({"viettel": "a"}, "b", ("c",)).candidates("vnpt") == ("b", "c")
    assert Routing({"viettel": ("a", "b")}, ("z", "b"), ("b", "c")).candidates(
        "viettel") == ("a", "b", "c")
    assert Routing(default=("zns", "agg")).candidates("mobifone") == ("zns", "agg")
    assert Routing({"viettel": ("a", "b")}, "z", ("c",)).gateway_ids() == {"a", "b", "z", "c"}


def test_the_engine_refuses_a_route_to_an_unknown_gateway(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    from langson_comms.sms.engine import DispatchEngine

    from .helpers import NOTICE
    with pytest.raises(LangsonCommsError, match="routing names gateway 'nope'"):
        DispatchEngine(ledger, {"v": gateway(carrier_simulator(), "v")},
                       Routing({"viettel": ("v", "nope")}), campaign="c", message=NOTICE)


def test_an_older_ledger_gains_the_routes_tried_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with SqliteLedger(path) as ledger:
        load(ledger, 2)
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE sms DROP COLUMN routes_tried")
    db.commit()
    db.close()
    with SqliteLedger(path) as ledger:
        rows = list(ledger.rows("c", "m"))
        assert [r.routes_tried for r in rows] == [None, None]
        row = ledger.claim("c", "m", time.time(), 1)[0]
        assert row.routes_tried is None


class _Zns(SmsGateway):
    """A ZNS-like gateway: the whole request refused for numbers without Zalo (raised),
    accepted otherwise."""

    name = "zns_fake"

    def __init__(self, gid: str, no_zalo: str) -> None:
        super().__init__(gid, GatewayCapabilities(max_batch=1))
        self.no_zalo = no_zalo
        self.asked: list[str] = []

    @classmethod
    def from_config(cls, config: Any, context: Any) -> _Zns:  # pragma: no cover
        raise NotImplementedError

    async def send(self, batch: Sequence[OutgoingSms]) -> list[SubmitResult]:
        self.asked += [s.msisdn for s in batch]
        if batch[0].msisdn.startswith(self.no_zalo):
            raise self.wrong_route("the number has no Zalo account", reason="no_zalo_account")
        return [SubmitResult(s.ref, f"Z{s.ref}") for s in batch]


def test_a_request_refused_whole_goes_on_to_sms(ledger: SqliteLedger,
                                                carrier_simulator: Any) -> None:
    # ZNS first, then SMS: the fallback is recorded as such.
    from langson_comms.sms.engine import DispatchEngine

    from .helpers import NOTICE
    agg = carrier_simulator()
    zns = _Zns("zns", PORTED)
    load(ledger, 20)

    async def main() -> Any:
        sms = gateway(agg, "agg")
        client = sms.make_client()
        sms.bind_client(client)
        try:
            return await DispatchEngine(ledger, {"zns": zns, "agg": sms},
                                        Routing(default=("zns", "agg")), campaign="c",
                                        message=NOTICE).run()
        finally:
            await client.aclose()

    summary = asyncio.run(main())
    assert summary.counts["accepted"] == 20
    assert len(zns.asked) == 20  # each number asked once
    rows = _rows(ledger)
    assert {a.to for a in agg.accepted_snapshot()} == {n for n in rows if n.startswith(PORTED)}
    assert {r.routes_tried for r in rows.values() if r.gateway == "agg"} == {
        "zns:no_zalo_account"}
    assert {r.routes_tried for r in rows.values() if r.gateway == "zns"} == {None}


def test_no_route_names_a_gateway_that_cannot_take_the_message(
        ledger: SqliteLedger, carrier_simulator: Any) -> None:
    from langson_comms.messages import Message

    v = carrier_simulator(wrong_route_prefixes=(PORTED,))
    agg = carrier_simulator()
    load(ledger, 11)
    accented = Message("m", "Thông báo: tải ứng dụng Công dân số Xứ Lạng",
                       classification="public_notice", classified_by="Sở TT&TT")
    summary = asyncio.run(run_engine(
        ledger, {"v": gateway(v, "v", result=WRONG),
                 "agg": gateway(agg, "agg", supports_unicode=False)},
        Routing({"viettel": ("v", "agg")}), message=accented))
    assert summary.counts == {**summary.counts, "accepted": 1, "failed": 10}
    reasons = {r.reason for r in ledger.rows("c", "m") if r.state is SmsState.FAILED}
    assert reasons == {"no_route: v: not_subscriber; agg cannot take this message "
                       "(UCS-2, 1 parts)"}
    assert agg.accepted_snapshot() == []
