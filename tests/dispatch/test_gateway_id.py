"""The core owns the gateway id: a plugin that names itself otherwise still gets its
delivery reports matched (issue 13, item 8)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import pytest
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


class KeyPathGateway(GenericHttpGateway):
    """Takes ``context.key`` (``channels.sms.gateways.<id>``, the table's key path) as its
    id, as a plugin author reading ``from_config``'s docstring does."""

    name = "key_path"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        built = super().from_config(config, context)
        built.gateway_id = context.key
        return built


def test_a_gateway_named_by_its_table_key_path_is_not_warned_about(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Only a gateway that names itself otherwise is warned about; one that took its
    table's key path (``context.key``) just gets the table key, quietly."""

    class Plugin:
        @hookimpl
        def register_sms_gateways(self) -> list[type[Any]]:
            return [KeyPathGateway, SelfNamedGateway]

    (tmp_path / "campaign.toml").write_text(
        '[campaign]\nid = "t"\ntitle = "T"\nstart = 2022-06-10\nend = 2022-12-31\n'
        '[messages.invite]\ntext = "Tai ung dung"\nclassification = "public_notice"\n'
        'classified_by = "So TT&TT"\n'
        '[channels.sms]\nkind = "sms"\nmessage = "invite"\n'
        '[channels.sms.gateways.viettel_gw]\nkind = "key_path"\nurl = "http://x"\n'
        '[channels.sms.gateways.other]\nkind = "self_named"\nurl = "http://x"\n',
        encoding="utf-8")
    runtime = Runtime.create(entry_points=False, env={}, plugins=[Plugin()])
    channel = runtime.load_campaign(tmp_path / "campaign.toml").channel("sms")
    with caplog.at_level(logging.WARNING):
        built = channel.build_gateways(runtime.registry)
    assert {gid: gw.gateway_id for gid, gw in built.items()} == {"viettel_gw": "viettel_gw",
                                                                "other": "other"}
    warned = [r.getMessage() for r in caplog.records if "called itself" in r.getMessage()]
    assert warned == ["gateway 'other' (SelfNamedGateway) called itself 'vendor': the core "
                      "sets its id to the configured key 'other'"]
