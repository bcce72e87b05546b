"""One policy selection for `sms prepare` and `sms send`: a promotional direct send needs
the opt-out footer and the Do-Not-Call list (Decree 91/2020), and both commands choose
the same policies for the same campaign."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from langson_comms.cli import build_cli
from langson_comms.clock import FrozenClock
from langson_comms.errors import CampaignFileError
from langson_comms.runtime import Runtime
from langson_comms.sms.ledger import SqliteLedger

from .helpers import CLI

FOOTER = "Tu choi QC soan TC gui 1234"

CAMPAIGN = """\
[campaign]
id = "promo"
title = "Promotional direct send"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Tai ung dung Cong dan so Xu Lang de nhan qua"
{classification}
[channels.sms]
kind = "sms"
mode = "{mode}"
message = "invite"
carriers = ["viettel"]
ledger = "work/ledger.sqlite"

[channels.sms.gateways.sim]
kind = "generic_http"
url = "{url}"
supports_idempotency = true
{policies}"""

POLICIES = f"""
[channels.sms.policies]
disable = ["frequency_cap"]

[channels.sms.policies.opt_out_footer]
footer = "{FOOTER}"

[channels.sms.policies.do_not_call]
files = ["dnc.csv"]

[channels.sms.policies.sending_window]
start = "06:00"
end = "22:00"
"""

DNC_NUMBER = "+84910000003"


def _write(tmp: Path, *, policies: str = POLICIES, mode: str = "direct",
           url: str = "http://127.0.0.1:9/sms/send", notice: bool = False) -> Path:
    path = tmp / "campaign.toml"
    classification = ('classification = "public_notice"\nclassified_by = "So TT&TT"\n'
                      if notice else "")
    path.write_text(CAMPAIGN.format(mode=mode, url=url, policies=policies,
                                    classification=classification), encoding="utf-8")
    (tmp / "dnc.csv").write_text(f"msisdn\n{DNC_NUMBER}\n", encoding="utf-8")
    rows = ["msisdn,carrier_hint,source_file,source_line"]
    rows += [f"+8491000000{i},viettel,list.csv,{i + 2}" for i in range(6)]
    (tmp / "prepared.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp / "audience.csv").write_text(
        "sdt\n" + "\n".join(f"091000000{i}" for i in range(6)) + "\n", encoding="utf-8")
    return path


def _runtime(clock: Any = None) -> Runtime:
    return Runtime.create(entry_points=False, env={}, clock=clock)


def _cli(runtime: Runtime, args: list[str]) -> Any:
    return CliRunner().invoke(build_cli(runtime), args, obj=runtime, catch_exceptions=False)


def test_promotional_direct_send_without_footer_or_dnc_is_a_located_error(
        tmp_path: Path) -> None:
    path = _write(tmp_path, policies="")
    with pytest.raises(CampaignFileError) as info:
        _runtime().load_campaign(path)
    text = str(info.value)
    # both missing options are reported, each with the file and a line
    assert re.search(r"campaign\.toml:\d+: channels\.sms\.policies\.opt_out_footer\.footer: "
                     r"required for promotional messages", text), text
    assert re.search(r"campaign\.toml:\d+: channels\.sms\.policies\.do_not_call\.files: "
                     r"required for promotional messages", text), text
    # the command line says the same and exits 2 (validate and send alike)
    for args in (["validate", str(path)],
                 ["sms", "send", str(path), "--audience", str(tmp_path / "prepared.csv")]):
        run = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert "channels.sms.policies.opt_out_footer.footer: required for promotional" \
            in run.stderr
    assert not (tmp_path / "work" / "ledger.sqlite").exists()  # nothing loaded, nothing sent


def test_carrier_broadcast_and_public_notice_need_no_footer(tmp_path: Path) -> None:
    broadcast = _write(tmp_path, policies="", mode="carrier_broadcast")
    assert _runtime().load_campaign(broadcast).channel("sms").config.mode == "carrier_broadcast"
    notice = _write(tmp_path, policies="", notice=True)
    campaign = _runtime().load_campaign(notice)
    selection = campaign.channel("sms").build_policies(_runtime().registry,
                                                       campaign.message("invite"))
    assert selection.names == ("opt_out",)
    assert selection.exempt == ("do_not_call", "frequency_cap", "opt_out_footer", "qc_label",
                                "sending_window")
    bad = _write(tmp_path, policies='[channels.sms.policies]\ndisable = ["quiet"]\n',
                 mode="carrier_broadcast")
    with pytest.raises(CampaignFileError, match=r"channels.sms.policies.disable\[0\]: no policy "
                                                r"named 'quiet'"):
        _runtime().load_campaign(bad)


def test_promotional_direct_send_gets_footer_and_dnc_suppression(
        tmp_path: Path, carrier_simulator: Any) -> None:
    sim = carrier_simulator(honour_idempotency=True)
    path = _write(tmp_path, url=sim.url)
    runtime = _runtime(FrozenClock("2022-07-01T10:00:00"))
    result = CliRunner().invoke(
        build_cli(runtime), ["sms", "send", str(path), "--audience",
                             str(tmp_path / "prepared.csv"), "--no-progress", "--json"],
        obj=runtime, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["policies"]["disabled"] == ["frequency_cap"]
    assert "DISABLED by [channels.sms.policies] disable: frequency_cap" in result.stderr
    texts = [m.text for m in sim.accepted_snapshot()]
    assert len(texts) == 5
    assert all(t.startswith("[QC] ") and t.endswith(" " + FOOTER) for t in texts)
    assert DNC_NUMBER not in {m.to for m in sim.accepted_snapshot()}
    with SqliteLedger(tmp_path / "work" / "ledger.sqlite") as ledger:
        assert ledger.suppressed_by_policy("promo", "invite") == {"do_not_call": 1}
        assert ledger.counts("promo", "invite")["accepted"] == 5
    status = json.loads(_cli(_runtime(), ["sms", "status", str(path), "--json"]).output)
    assert status["messages"]["invite"]["suppressed_by_policy"] == {"do_not_call": 1}


@pytest.mark.parametrize("notice", [False, True])
def test_prepare_and_send_choose_the_same_policies(tmp_path: Path, notice: bool) -> None:
    path = _write(tmp_path, notice=notice)
    runtime = _runtime()
    result = _cli(runtime, ["sms", "prepare", str(path), "--message", "invite", "--audience",
                            str(tmp_path / "audience.csv"), "--out-dir", str(tmp_path / "out"),
                            "--send-at", "2022-07-01T10:00:00", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    campaign = runtime.load_campaign(path)
    send = campaign.channel("sms").build_policies(runtime.registry, campaign.message("invite"))
    assert plan["policies"]["applied"] == list(send.names)
    assert plan["policies"]["exempt"] == list(send.exempt)
    assert plan["policies"]["disabled"] == list(send.disabled) == ["frequency_cap"]
    assert plan["suppressed_by_policy"] == ({} if notice else {"do_not_call": 1})
