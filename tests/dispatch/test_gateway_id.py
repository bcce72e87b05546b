"""The core owns the gateway id: a plugin that names itself otherwise still gets its
delivery reports matched (issue 13, item 8)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from langson_comms import ConfigContext, hookimpl
from langson_comms.runtime import Runtime
from langson_comms.sms.http_gateway import GenericHttpGateway
from langson_comms.sms.ledger import DeliveryReport, SqliteLedger

from .conftest import load
from .helpers import gateway, run_engine


class SelfNamedGateway(GenericHttpGateway):
    """Ignores the table key it is built under and calls itself ``vendor``."""

    name = "self_named"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        built = super().from_config(config, context)
        built.gateway_id = "vendor"
        return built


class _Plugin:
    @hookimpl
    def register_sms_gateways(self) -> list[type[Any]]:
        return [SelfNamedGateway]


def test_rows_carry_the_routing_key_so_reports_for_it_match(ledger: SqliteLedger,
                                                            carrier_simulator: Any) -> None:
    load(ledger, 5)
    sim = carrier_simulator()
    gw = gateway(sim, "vendor")  # the plugin's own idea of its id
    summary = asyncio.run(run_engine(ledger, {"sim": gw}))
    assert summary.counts["accepted"] == 5
    rows = list(ledger.rows("c"))
    assert {r.gateway for r in rows} == {"sim"}
    # reports arrive on /dlr/sim (the table key): every one must match its row
    new = ledger.record_reports([DeliveryReport(str(r.carrier_id), "delivered") for r in rows],
                                time.time(), gateway="sim")
    assert new == 5 and ledger.counts("c")["delivered"] == 5


def test_gateways_built_from_the_campaign_file_carry_their_table_key(tmp_path: Path) -> None:
    (tmp_path / "campaign.toml").write_text(
        '[campaign]\nid = "t"\ntitle = "T"\nstart = 2022-06-10\nend = 2022-12-31\n'
        '[messages.invite]\ntext = "Tai ung dung"\nclassification = "public_notice"\n'
        'classified_by = "So TT&TT"\n'
        '[channels.sms]\nkind = "sms"\nmessage = "invite"\n'
        '[channels.sms.gateways.viettel_gw]\nkind = "self_named"\nurl = "http://x"\n',
        encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={}, plugins=[_Plugin()])
    channel = runtime.load_campaign(tmp_path / "campaign.toml").channel("sms")
    built = channel.build_gateways(runtime.registry)
    assert built["viettel_gw"].gateway_id == "viettel_gw"
