"""An "unknown key" error lists the keys a table takes, not the fields the SDK sets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from langson_comms.config import ConfigContext
from langson_comms.default_plugins.channels import OutreachChannel
from langson_comms.default_plugins.signups import FileSource
from langson_comms.default_plugins.signups_http import HttpPollSource
from langson_comms.default_plugins.signups_webhook import WebhookSource
from langson_comms.errors import CampaignFileError

TABLES: list[tuple[type[Any], dict[str, Any], set[str]]] = [
    (FileSource, {"platform": "app", "files": ["a.csv"]}, {"key", "base_dir"}),
    (WebhookSource, {"platform": "app", "secret_env": "HOOK_SECRET"}, {"key", "base_dir"}),
    (HttpPollSource, {"platform": "app", "url": "http://127.0.0.1:1/x"},
     {"key", "transport", "http_client", "environ"}),
    (OutreachChannel, {}, set()),
]


def expected_keys(message: str) -> set[str]:
    found = re.search(r"expected one of: ([^)]*)\)", message)
    assert found, message
    return set(found.group(1).split(", "))


@pytest.mark.parametrize(("cls", "table", "sdk_fields"), TABLES, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unknown_key_lists_the_keys_not_the_fields_the_sdk_sets(
        tmp_path: Path, cls: type[Any], table: dict[str, Any], sdk_fields: set[str]) -> None:
    """Left_b: a webhook source's unknown-key error listed base_dir and key among the keys
    expected, though both are refused when written."""
    context = ConfigContext(source="campaign.toml", base_dir=tmp_path, key="signups.src")
    with pytest.raises(CampaignFileError) as info:
        cls.from_config({**table, "colour": "red"}, context)
    keys = expected_keys(str(info.value))
    assert "signups.src.colour: unknown key" in str(info.value)
    assert keys and not keys & (sdk_fields | {"_codes", "codes"}), keys
    for field in sdk_fields:  # writing one is refused, with the same list
        with pytest.raises(CampaignFileError) as info:
            cls.from_config({**table, field: "x"}, context)
        assert f"signups.src.{field}" in str(info.value)
        if "expected one of" in str(info.value):
            assert expected_keys(str(info.value)) == keys
