"""The sms channel table and the dispatch commands (in-process; the subprocess runs are in
test_crash_resume.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from langson_comms.cli import build_cli
from langson_comms.errors import CampaignFileError, LedgerError
from langson_comms.runtime import Runtime

from .test_crash_resume import write_campaign

ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
[campaign]
id = "t"
title = "T"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung"

[channels.sms]
kind = "sms"
"""


def _runtime() -> Runtime:
    return Runtime.create(entry_points=False, env={})


def _load(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "campaign.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return _runtime().load_campaign(path)


@pytest.mark.parametrize(("body", "expected"), [
    ('message = "invite"\nmode = "direct"\n', "channels.sms.gateways: direct sending needs"),
    ('message = "invite"\nmode = "carrier_broadcast"\ncarriers = ["viettell"]\n',
     "channels.sms.carriers[0]: 'viettell' is not a carrier"),
    ('message = "nope"\nmode = "carrier_broadcast"\ncarriers = ["viettel"]\n',
     "channels.sms.message: 'nope' is not a message of this campaign"),
    ('message = "invite"\nsend_by = "tomorrow"\n[channels.sms.gateways.a]\nkind = '
     '"generic_http"\nurl = "http://x"\n', "channels.sms.send_by: 'tomorrow' is not"),
    ('message = "invite"\n[channels.sms.routes]\nviettel = "b"\n[channels.sms.gateways.a]\n'
     'kind = "generic_http"\nurl = "http://x"\n',
     "channels.sms.routes.viettel: gateway 'b' is not configured (gateways: a)"),
    ('message = "invite"\nbrandname = "A VERY LONG NAME"\n[channels.sms.gateways.a]\n'
     'kind = "generic_http"\nurl = "http://x"\n', "channels.sms.brandname"),
    ('message = "invite"\ncoverage_percent = 120\nmode = "carrier_broadcast"\n'
     'carriers = ["viettel"]\n', "channels.sms.coverage_percent"),
    # the gateway's own keys, checked by the loader (so by `validate`), not at send time
    ('message = "invite"\n[channels.sms.gateways.a]\nkind = "generic_http"\n'
     'url = "http://x"\nconnections = 0\n', "channels.sms.gateways.a.connections"),
    ('message = "invite"\n[channels.sms.gateways.a]\nkind = "generic_http"\n'
     'url = "http://x"\n[channels.sms.gateways.a.result]\naccepted = "100"\n',
     "channels.sms.gateways.a.result.accepted: '100' is a string; expected a list"),
])
def test_channel_errors_are_located(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(CampaignFileError) as info:
        _load(tmp_path, body)
    assert expected in str(info.value)


def test_gateway_tables_are_built_with_located_errors(tmp_path: Path) -> None:
    # The message is promotional: since the policy set is the one `sms prepare` uses,
    # the tables list the policies in order and the ones needing options are disabled.
    body = ('message = "invite"\n[channels.sms.policies]\n'
            'sending_window = {}\nfrequency_cap = {}\nqc_label = {}\n'
            'disable = ["opt_out_footer", "do_not_call", "opt_out"]\n'
            '[channels.sms.gateways.a]\n'
            'kind = "generic_http"\nurl = "http://x"\nmax_batch = 5\n')
    with pytest.raises(CampaignFileError, match=r"channels.sms.gateways.a.batch_url"):
        _load(tmp_path, body)  # the loader checks the gateway's keys (so `validate` does)
    campaign = _load(tmp_path, body + 'batch_url = "http://x/batch"\n')
    channel = campaign.channel("sms")
    assert channel.build_gateways(_runtime().registry)["a"].capabilities.max_batch == 5
    assert channel.routing().default == "a"
    assert channel.ledger_path() == tmp_path / ".langson" / "sms-ledger.sqlite"
    names = [p.name for p in channel.build_policies(_runtime().registry,
                                                    campaign.message("invite")).policies]
    assert names == ["sending_window", "frequency_cap", "qc_label"]


def test_reference_campaign_orders_a_carrier_broadcast() -> None:
    campaign = _runtime().load_campaign(ROOT / "examples" / "langson_2022" / "campaign.toml")
    channel = campaign.channel("sms")
    assert channel.config.mode == "carrier_broadcast"
    assert channel.config.carriers == ["viettel", "vinaphone", "mobifone"]
    assert "carrier-run broadcast" in channel.describe()


def _cli(args: list[str]) -> Any:
    runtime = _runtime()
    return CliRunner().invoke(build_cli(runtime), args, obj=runtime, catch_exceptions=False)


def test_broadcast_order_report_and_status(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(HEAD + 'message = "invite"\nmode = "carrier_broadcast"\n'
                    'carriers = ["viettel", "mobifone"]\n', encoding="utf-8")
    result = _cli(["sms", "broadcast-order", str(path)])
    assert result.exit_code == 0, result.output
    assert "ordered viettel" in result.output and "ordered mobifone" in result.output
    result = _cli(["sms", "broadcast-report", str(path), "--carrier", "viettel",
                   "--subscribers", "400000", "--sent", "398000", "--delivered", "390000"])
    assert result.exit_code == 0, result.output
    status = json.loads(_cli(["sms", "status", str(path), "--json"]).output)
    orders = {o["carrier"]: o for o in status["broadcasts"]}
    assert orders["viettel"]["delivered"] == 390000
    assert orders["mobifone"]["reported_at"] is None


def test_send_status_and_cancel(tmp_path: Path, carrier_simulator: Any) -> None:
    sim = carrier_simulator(honour_idempotency=True)
    path = write_campaign(tmp_path, sim, n=50, rate=10000)
    result = _cli(["sms", "send", str(path), "--audience", str(tmp_path / "prepared.csv"),
                   "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[-1])
    assert summary["counts"]["accepted"] == 50
    # loading again adds nothing and sends nothing
    result = _cli(["sms", "send", str(path), "--audience", str(tmp_path / "prepared.csv"),
                   "--no-progress"])
    assert "0 new, 50 already in the ledger" in result.output
    assert len(sim.accepted_snapshot()) == 50
    status = json.loads(_cli(["sms", "status", str(path), "--json"]).output)
    assert status["messages"]["invite"]["counts"]["accepted"] == 50
    # paused: more rows load but nothing is sent; then cancelled with no sender running
    assert "invite: paused" in _cli(["sms", "pause", str(path)]).output
    extra = tmp_path / "more.csv"
    extra.write_text("msisdn,carrier_hint,source_file,source_line,ten\n"
                     "+84987000001,viettel,m.csv,2,X\n", encoding="utf-8")
    with pytest.raises(LedgerError, match="'invite' is paused; 'sms resume' goes on"):
        _cli(["sms", "send", str(path), "--audience", str(extra), "--no-progress"])
    result = _cli(["sms", "cancel", str(path)])
    assert result.exit_code == 0 and "cancelled 1 queued rows" in result.output
    status = json.loads(_cli(["sms", "status", str(path), "--json"]).output)
    assert status["messages"]["invite"]["counts"]["cancelled"] == 1
    assert status["messages"]["invite"]["control"] == "cancelled"
    assert len(sim.accepted_snapshot()) == 50


def test_unknown_gateway_kind_and_bad_policy_tables_fail_at_load(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError, match=r"channels.sms.gateways.a.kind: no sms_gateway "
                                                r"named 'smpp' \(known: generic_http\); is its plugin "
                                                r"installed\? see `langson-comms plugins`"):
        _load(tmp_path, 'message = "invite"\n[channels.sms.gateways.a]\nkind = "smpp"\n')
    with pytest.raises(CampaignFileError, match=r"channels.sms.policies.opt_out_footer.footer"):
        _load(tmp_path, 'message = "invite"\n[channels.sms.policies]\nopt_out_footer = {}\n'
                        '[channels.sms.gateways.a]\nkind = "generic_http"\nurl = "http://x"\n')
