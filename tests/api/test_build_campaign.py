"""A campaign built from Python values: the checks of a campaign file, and every problem
named by its attribute path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from langson_comms import CampaignFileError, Runtime, build_campaign, summarise_campaign


def _data() -> dict[str, Any]:
    return {
        "campaign": {"id": "py", "title": "Built in Python", "start": dt.date(2022, 6, 10),
                     "end": dt.date(2022, 12, 31)},
        "messages": {"value": {"text": "Công dân số Xứ Lạng"}},
        "channels": {"press": {"kind": "press", "outlets": ["Báo Lạng Sơn"],
                               "min_reports_per_week": 1, "messages": ["value"]}},
        "targets": {"reaches": {"kind": "reach", "target": 12_000_000}},
    }


def _runtime() -> Runtime:
    return Runtime.create(entry_points=False, env={})


def test_a_campaign_built_in_python_is_checked_like_a_file() -> None:
    campaign = build_campaign(_data(), runtime=_runtime())
    assert campaign.id == "py" and campaign.source == "<python>"
    summary = summarise_campaign(campaign)
    assert summary.period["days"] == 205
    assert summary.channels["press"]["kind"] == "press"


def test_bad_attributes_are_all_reported_by_their_path() -> None:
    data = _data()
    data["targets"]["reaches"]["target"] = -1
    data["channels"]["press"]["min_reports_per_week"] = "often"
    data["campaign"]["colour"] = "red"
    with pytest.raises(CampaignFileError) as info:
        build_campaign(data, runtime=_runtime(), source="db:campaigns/7")
    keys = {p.key for p in info.value.problems}
    assert {"targets.reaches.target", "channels.press.min_reports_per_week"} <= keys
    assert any(k.startswith("campaign") for k in keys)
    text = str(info.value)
    assert "db:campaigns/7: targets.reaches.target:" in text
    assert all(p.line is None for p in info.value.problems)  # no file: the path locates


def test_the_period_and_a_non_mapping_are_located() -> None:
    data = _data()
    data["campaign"]["end"] = dt.date(2022, 1, 1)
    with pytest.raises(CampaignFileError, match=r"<python>: campaign\.end"):
        build_campaign(data, runtime=_runtime())
    with pytest.raises(CampaignFileError, match="expected a mapping of tables"):
        build_campaign([], runtime=_runtime())  # type: ignore[arg-type]


@pytest.mark.parametrize(("where", "key", "located"), [
    ((), 5, "<python>: 5: "),
    (("messages",), 1, "<python>: messages.1: "),
    (("campaign",), 3, "<python>: campaign.3: "),
    (("channels", "press"), ("a",), "<python>: channels.press.('a',): "),
])
def test_a_key_that_is_not_text_is_located_not_a_traceback(where: tuple[str, ...], key: Any,
                                                           located: str) -> None:
    data = _data()
    table: Any = data
    for name in where:
        table = table[name]
    table[key] = {"text": "x"}
    with pytest.raises(CampaignFileError) as info:
        build_campaign(data, runtime=_runtime())
    assert located in str(info.value)
    assert "expected a text key" in str(info.value)


def test_a_list_where_a_table_of_tables_is_expected_says_so() -> None:
    data = _data()
    data["messages"]["invite"] = {"text": "x", "classification": "public_notice",
                                  "classified_by": "So"}
    data["channels"]["sms"] = {"kind": "sms", "mode": "direct", "message": "invite",
                               "gateways": ["sim"]}
    with pytest.raises(CampaignFileError) as info:
        build_campaign(data, runtime=_runtime())
    text = str(info.value)
    assert "<python>: channels.sms.gateways: " in text
    assert "expected a table" in text
    assert "AttributeError" not in text
