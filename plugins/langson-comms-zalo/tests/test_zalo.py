"""The example third-party plugin, held to the contract and used through a campaign file."""

from __future__ import annotations

from pathlib import Path

import pytest

import langson_comms_zalo
from langson_comms import CampaignFileError, Runtime
from langson_comms.testing.contracts import ContributionContract

CAMPAIGN = """\
[campaign]
id = "z"
title = "Zalo"
start = 2022-06-10
end = 2022-12-31

[messages.invite]
text = "Chào {ten}, hãy tải “Công dân số Xứ Lạng”"

[channels.zalo]
kind = "zalo_zns"
template_id = "231456"
message = "invite"
template_fields = { ten = "bà Hoa" }
"""


class TestZaloChannelContract(ContributionContract):
    contributed_class = langson_comms_zalo.ZaloZnsChannel
    kind = "channel"
    example_config = {"template_id": "231456", "message": "invite"}
    plugin = langson_comms_zalo


def test_discovered_through_its_entry_point() -> None:
    runtime = Runtime.create(env={})
    assert runtime.registry.get("channel", "zalo_zns") is langson_comms_zalo.ZaloZnsChannel


def test_preview_fills_template(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CAMPAIGN, encoding="utf-8")
    campaign = Runtime.create(env={}).load_campaign(tmp_path / "c.toml")
    assert campaign.channel("zalo").preview(campaign) == "Chào bà Hoa, hãy tải “Công dân số Xứ Lạng”"


def test_bad_template_id_is_located(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CAMPAIGN.replace('"231456"', '"abc"'), encoding="utf-8")
    with pytest.raises(CampaignFileError) as info:
        Runtime.create(env={}).load_campaign(tmp_path / "c.toml")
    assert str(info.value).endswith("c.toml:12: channels.zalo.template_id: 'abc' is not a ZNS template id (digits)")
