"""The VNPT gateway against its loopback simulator: each answer class, Unicode, the
envelope it builds, its configuration errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langson_comms_vnpt import VnptGateway
from langson_comms_vnpt.envelope import UnreadableReply, parse_reply
from vnpt_helpers import API_PASS, ENV, context, make_gateway, send, simulator, sms, table

from langson_comms.errors import (
    ConfigError,
    PermanentGatewayError,
    TransientGatewayError,
    WrongRouteError,
)
from langson_comms.sms.gateway import FATAL_STATUSES


def test_accepted_with_the_reqid_and_the_whole_envelope() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(7, key="abc123")])
    assert result.accepted and result.carrier_id == "abc123" and not result.already_accepted
    (got,) = sim.accepted
    assert (got.request_id, got.msisdn, got.data_coding, got.label, got.template_id) == (
        "abc123", "84912345678", "0", "LANGSON", "T-FREE-1")
    (request,) = sim.requests
    assert request["name"] == "send_sms_list" and "APIPASS" not in request  # not recorded
    assert request["PARAMS"] == [{"NUM": "1", "CONTENT": "Tai ung dung Cong dan so"}]
    assert {k: request[k] for k in ("CONTRACTTYPEID", "CONTRACTID", "AGENTID", "APIUSER",
                                    "USERNAME", "ISTELCOSUB", "SCHEDULETIME")} == {
        "CONTRACTTYPEID": "1", "CONTRACTID": "13681", "AGENTID": "244", "APIUSER": "langson_api",
        "USERNAME": "langson", "ISTELCOSUB": "0", "SCHEDULETIME": ""}


def test_the_channel_sender_is_the_label() -> None:
    with simulator(labels=("UBND LS",)) as sim:
        (result,) = send(make_gateway(sim.url), [sms()._replace(sender="UBND LS")])
    assert result.accepted and sim.accepted[0].label == "UBND LS"


def test_unicode_goes_as_datacoding_8_and_arrives_intact() -> None:
    text = 'Tải ứng dụng Công dân số Xứ Lạng — "nhanh" & dễ'
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(text=text, unicode=True)])
    assert result.accepted
    assert (sim.accepted[0].text, sim.accepted[0].data_coding) == (text, "8")


def test_a_unicode_text_sent_as_gsm_is_refused_for_good() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(text="Tải ứng dụng", unicode=False)])
    assert isinstance(result.error, PermanentGatewayError) and "ERROR 10" in str(result.error)
    assert not sim.accepted


def test_an_invalid_number_is_permanent_for_that_message_without_the_number() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(msisdn="+84000123456")])
    assert isinstance(result.error, PermanentGatewayError)
    assert result.error.status not in FATAL_STATUSES
    assert "ERROR 5" in str(result.error) and "84000123456" not in str(result.error)


def test_not_a_vinaphone_subscriber_is_a_wrong_route() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url, is_telco_sub="1"), [sms(msisdn="+84961234567")])
    assert isinstance(result.error, WrongRouteError)
    assert result.error.reason == "not_subscriber" and not sim.accepted


@pytest.mark.parametrize(("change", "code"), [
    ({"api_pass": "another-one"}, "1"),
    ({"labels": ("OTHER",)}, "3"),
    ({"templates": ("T-OTHER",)}, "4"),
])
def test_account_refusals_stop_the_run(change: dict[str, object], code: str) -> None:
    with simulator(**change) as sim:  # type: ignore[arg-type]
        with pytest.raises(PermanentGatewayError) as info:
            send(make_gateway(sim.url), [sms()])
    assert info.value.status in FATAL_STATUSES
    assert f"ERROR {code}" in str(info.value) and API_PASS not in str(info.value)


def test_throttling_is_transient_with_the_configured_backoff() -> None:
    with simulator(throttle_every=1) as sim:
        with pytest.raises(TransientGatewayError) as info:
            send(make_gateway(sim.url, throttle_backoff=0.25), [sms()])
    assert info.value.retry_after == 0.25 and "ERROR 8" in str(info.value)


def test_a_system_error_is_transient_and_never_quotes_the_password() -> None:
    with simulator(system_error=1.0, echo_secrets=True) as sim:
        with pytest.raises(TransientGatewayError) as info:
            send(make_gateway(sim.url), [sms()])
    assert "ERROR 99" in str(info.value)
    assert API_PASS not in str(info.value) and "<redacted>" in str(info.value)
    assert sim.counters["system_errors"] == 1


def test_5xx_is_transient() -> None:
    with simulator(fail_5xx=1.0) as sim:
        with pytest.raises(TransientGatewayError) as info:
            send(make_gateway(sim.url), [sms()])
    assert info.value.status == 503


def test_a_lost_answer_is_transient_and_the_resend_is_taken_once() -> None:
    with simulator(timeout=1.0, hang_seconds=2.0) as sim:
        gateway = make_gateway(sim.url, timeout=0.3)
        with pytest.raises(TransientGatewayError, match="timeout"):
            send(gateway, [sms(key="k-lost")])
        sim.timeout = 0.0
        # resent with the usual (generous) timeout: 0.3 s bounded the resend's answer too,
        # which a loaded machine did not always give in time
        (again,) = send(make_gateway(sim.url), [sms(key="k-lost")])
    assert again.accepted and again.already_accepted and again.carrier_id == "k-lost"
    assert len(sim.accepted) == 1 and sim.counters["replays"] == 1


def test_a_batch_stopped_by_an_error_keeps_what_was_answered() -> None:
    with simulator(throttle_every=2) as sim:
        results = send(make_gateway(sim.url), [sms(1), sms(2), sms(3)])
    assert results[0].accepted
    assert [type(r.error) for r in results[1:]] == [TransientGatewayError] * 2
    assert len(sim.accepted) == 1


@pytest.mark.parametrize("content", [b"<html/>", b"[]", b'{"RPLY": {"ERROR_DESC": "x"}}',
                                     b'{"RPLY": {"ERROR": true}}', b"\xff\xfe"])
def test_unreadable_replies_are_named(content: bytes) -> None:
    with pytest.raises(UnreadableReply):
        parse_reply(content)


# -- configuration ----------------------------------------------------------------------


def test_the_api_password_in_the_campaign_file_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        VnptGateway.check_config(table("http://x/api", api_pass=API_PASS), context())
    assert "api_pass_env" in str(info.value) and API_PASS not in str(info.value)
    assert "channels.sms.gateways.vnpt.api_pass" in str(info.value)


def test_a_missing_variable_is_located_and_validate_does_not_need_it() -> None:
    VnptGateway.check_config(table("http://x/api"), context())
    with pytest.raises(ConfigError, match="VNPT_API_PASS is not set") as info:
        VnptGateway.from_config(table("http://x/api"), context(), env={})
    assert "api_pass_env" in str(info.value)


def test_the_api_password_from_an_owner_only_file(tmp_path: Path) -> None:
    secret = tmp_path / "vnpt.pass"
    secret.write_text(API_PASS + "\n", encoding="utf-8")
    secret.chmod(0o600)
    config = table("http://x/api", api_pass_file="vnpt.pass")
    del config["api_pass_env"]
    gateway = VnptGateway.from_config(config, context(tmp_path), env={})
    assert gateway.request(sms())["APIPASS"] == API_PASS and API_PASS not in repr(gateway)
    if os.name == "posix":
        secret.chmod(0o640)
        with pytest.raises(ConfigError, match="readable by others"):
            VnptGateway.from_config(config, context(tmp_path), env={})


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("url", "ftp://x/api", "not an http(s) URL"),
    ("url", "http://x/api?APIPASS=abc", "carries credentials"),
    ("template_id", "", "template_id is empty"),
    ("is_telco_sub", "2", "is_telco_sub"),
    ("codes", {"fatal": ["7"]}, "codes.fatal"),
    ("codes", {"ok": []}, "codes.ok is empty"),
    ("api_pass_file", "p.txt", "exactly one"),
    ("datacoding", "8", "datacoding"),
])
def test_config_errors_are_located(key: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        VnptGateway.from_config({**table("http://x/api"), key: value}, context(), env=ENV)
    assert expected in str(info.value) and "channels.sms.gateways.vnpt" in str(info.value)
