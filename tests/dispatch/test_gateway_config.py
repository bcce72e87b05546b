"""``[channels.sms.gateways.<id>]`` tables of the generic gateway: every mistake is a
located ``CampaignFileError`` naming the key — never silently reinterpreted, never a raw
``ValueError`` naming internal classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langson_comms.config import ConfigContext
from langson_comms.errors import CampaignFileError
from langson_comms.sms.http_gateway import GenericHttpGateway

WHERE = "channels.sms.gateways.esms"


def _build(**config: Any) -> GenericHttpGateway:
    return GenericHttpGateway.from_config({"url": "http://127.0.0.1:9/send", **config},
                                          ConfigContext("campaign.toml", Path("."), WHERE))


@pytest.mark.parametrize("key", ["accepted", "transient"])
def test_a_string_where_a_list_is_expected_is_refused(key: str) -> None:
    # `accepted = "100"` would otherwise become ["1", "0", "0"]: "1" and "0" accepted
    with pytest.raises(CampaignFileError) as info:
        _build(result={key: "100"})
    assert str(info.value) == (f'campaign.toml: {WHERE}.result.{key}: \'100\' is a string; '
                               f'expected a list (write ["100"])')


def test_a_list_of_codes_is_taken_as_written() -> None:
    assert _build(result={"accepted": ["100"]}).config.result.accepted == ["100"]


def test_a_list_of_numbers_for_codes_is_located() -> None:
    with pytest.raises(CampaignFileError, match=rf"{WHERE}\.result\.accepted\[1\]: 100 is not a "
                                                "string"):
        _build(result={"accepted": ["100", 100]})


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("connections", 0, "0 is too small (expected at least 1)"),
    ("max_parts", 0, "0 is too small (expected at least 1)"),
    ("max_batch", 0, "0 is too small (expected at least 1)"),
    ("connections", -3, "-3 is too small (expected at least 1)"),
    ("burst", 0, "0.0 must be greater than 0"),
    ("timeout", 0, "0.0 must be greater than 0"),
    ("timeout", -1.5, "-1.5 must be greater than 0"),
    ("rate_msgs", 0, "0.0 must be greater than 0"),
    ("rate_segments", -1, "-1.0 must be greater than 0"),
])
def test_non_positive_numbers_are_located_errors(key: str, value: float, expected: str) -> None:
    with pytest.raises(CampaignFileError) as info:
        _build(**{key: value})
    assert str(info.value) == f"campaign.toml: {WHERE}.{key}: {expected}"


def test_positive_numbers_reach_the_capabilities() -> None:
    gw = _build(connections=3, max_parts=2, burst=0.5, timeout=4, rate_msgs=50,
                rate_segments=120)
    caps = gw.capabilities
    assert (caps.concurrency, caps.max_parts, caps.burst) == (3, 2, 0.5)
    assert (caps.rate_msgs, caps.rate_segments, gw.config.timeout) == (50.0, 120.0, 4.0)


def test_check_config_needs_no_secret_but_finds_the_same_errors(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the campaign loader can call on a machine without the sending secrets."""
    monkeypatch.delenv("ESMS_KEY_FOR_TEST", raising=False)
    ctx = ConfigContext("campaign.toml", Path("."), WHERE)
    table = {"url": "http://127.0.0.1:9/send", "auth_env": "ESMS_KEY_FOR_TEST"}
    GenericHttpGateway.check_config(table, ctx)
    with pytest.raises(CampaignFileError, match=rf"{WHERE}\.auth_env: .*environment variable "
                                                "ESMS_KEY_FOR_TEST"):
        GenericHttpGateway.from_config(table, ctx)
    with pytest.raises(CampaignFileError, match=rf"{WHERE}\.timeout: 0\.0 must be greater"):
        GenericHttpGateway.check_config({**table, "timeout": 0}, ctx)
