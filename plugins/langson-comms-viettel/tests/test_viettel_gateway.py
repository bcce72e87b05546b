"""The Viettel gateway against its loopback simulator: each answer class, Unicode, the
request it builds, its configuration errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from langson_comms_viettel import ViettelGateway
from viettel_helpers import ENV, PASSWORD, context, make_gateway, send, simulator, sms, table

from langson_comms.errors import (
    ConfigError,
    PermanentGatewayError,
    TransientGatewayError,
    WrongRouteError,
)
from langson_comms.sms.gateway import FATAL_STATUSES


def test_accepted_as_queued_with_the_request_id_as_carrier_id() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(7, key="abc123")])
    assert result.accepted and result.carrier_id == "abc123" and not result.already_accepted
    (got,) = sim.accepted
    assert (got.request_id, got.msisdn, got.content_type, got.service_id) == (
        "abc123", "84912345678", "0", "LANGSON")
    (request,) = sim.requests
    assert request["UserID"] == request["ReceiverID"] == "84912345678"
    assert request["CommandCode"] == "bulksms" and request["CPCode"] == "LANGSON_CP"


def test_the_channel_sender_is_the_service_id() -> None:
    with simulator() as sim:
        send(make_gateway(sim.url), [sms()._replace(sender="UBND LS")])
    assert sim.accepted[0].service_id == "UBND LS"


def test_unicode_goes_as_content_type_1_and_arrives_intact() -> None:
    text = "Tải ứng dụng Công dân số Xứ Lạng — <nhanh> & dễ"
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(text=text, unicode=True)])
    assert result.accepted
    assert (sim.accepted[0].text, sim.accepted[0].content_type) == (text, "1")


def test_a_unicode_text_sent_as_plain_is_refused_for_good() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(text="Tải ứng dụng", unicode=False)])
    assert isinstance(result.error, PermanentGatewayError)
    assert "INVALID_CONTENT" in str(result.error) and not sim.accepted


def test_an_invalid_number_is_permanent_for_that_message_without_the_number() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(msisdn="+84000123456")])
    assert isinstance(result.error, PermanentGatewayError)
    assert result.error.status not in FATAL_STATUSES
    assert "INVALID_MSISDN" in str(result.error) and "84000123456" not in str(result.error)


def test_not_a_viettel_subscriber_is_a_wrong_route() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(msisdn="+84881234567")])
    assert isinstance(result.error, WrongRouteError)
    assert result.error.reason == "not_subscriber" and not sim.accepted


def test_wrong_credentials_stop_the_run() -> None:
    with simulator(password="another-one") as sim:
        with pytest.raises(PermanentGatewayError) as info:
            send(make_gateway(sim.url), [sms()])
    assert info.value.status in FATAL_STATUSES
    assert "AUTHENTICATE_FAIL" in str(info.value) and PASSWORD not in str(info.value)


def test_throttling_is_transient_with_the_configured_backoff() -> None:
    with simulator(throttle_every=1) as sim:
        with pytest.raises(TransientGatewayError) as info:
            send(make_gateway(sim.url, throttle_backoff=0.25), [sms()])
    assert info.value.retry_after == 0.25 and "TPS_EXCEEDED" in str(info.value)
    assert not sim.accepted


def test_a_soap_server_fault_is_transient_and_never_quotes_the_password() -> None:
    with simulator(fail_5xx=1.0, echo_secrets=True) as sim:
        with pytest.raises(TransientGatewayError) as info:
            send(make_gateway(sim.url), [sms()])
    assert info.value.status == 500 and "SOAP fault Server" in str(info.value)
    assert PASSWORD not in str(info.value) and "<redacted>" in str(info.value)


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


def test_a_control_character_fails_that_message_only() -> None:
    with simulator() as sim:
        (result,) = send(make_gateway(sim.url), [sms(text="bad\x01text")])
    assert isinstance(result.error, PermanentGatewayError) and not sim.requests


# -- configuration ----------------------------------------------------------------------


def test_a_password_in_the_campaign_file_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        ViettelGateway.check_config(table("http://x/bulkapi", password="s3cret-pass"), context())
    assert "password_env" in str(info.value) and "s3cret-pass" not in str(info.value)
    assert "channels.sms.gateways.viettel.password" in str(info.value)


def test_exactly_one_of_password_env_and_password_file() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        ViettelGateway.check_config(table("http://x/bulkapi", password_file="p.txt"), context())
    config = table("http://x/bulkapi")
    del config["password_env"]
    with pytest.raises(ConfigError, match="exactly one"):
        ViettelGateway.check_config(config, context())


def test_a_missing_variable_is_located_and_validate_does_not_need_it() -> None:
    ViettelGateway.check_config(table("http://x/bulkapi"), context())
    with pytest.raises(ConfigError, match="VIETTEL_PASSWORD is not set") as info:
        ViettelGateway.from_config(table("http://x/bulkapi"), context(), env={})
    assert "password_env" in str(info.value)


def test_the_password_from_an_owner_only_file(tmp_path: Path) -> None:
    secret = tmp_path / "viettel.pass"
    secret.write_text(PASSWORD + "\r\n", encoding="utf-8")
    secret.chmod(0o600)
    config = table("http://x/bulkapi", password_env=None, password_file="viettel.pass")
    del config["password_env"]
    gateway = ViettelGateway.from_config(config, context(tmp_path), env={})
    assert gateway._fields(sms())["Password"] == PASSWORD
    assert PASSWORD not in repr(gateway)
    if os.name == "posix":
        secret.chmod(0o644)
        with pytest.raises(ConfigError, match="readable by others"):
            ViettelGateway.from_config(config, context(tmp_path), env={})


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("url", "ftp://x/bulkapi", "not an http(s) URL"),
    ("url", "http://u:p@x/bulkapi", "carries credentials"),
    ("user", " ", "user is empty"),
    ("timeout", 0, "greater than 0"),
    ("codes", {"fatal": ["TPS_EXCEEDED"]}, "codes.throttled"),
    ("sms_type", 2, "sms_type"),
])
def test_config_errors_are_located(key: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        ViettelGateway.from_config({**table("http://x/bulkapi"), key: value}, context(), env=ENV)
    assert expected in str(info.value) and "channels.sms.gateways.viettel" in str(info.value)
