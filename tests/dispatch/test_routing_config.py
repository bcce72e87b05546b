"""Routes as ordered lists in the campaign file (issue 15, item 3): the old forms stay
valid, every gateway id is checked with a located error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from langson_comms.errors import CampaignFileError

from .test_cli_channel import HEAD, _runtime

NOTICE_HEAD = HEAD.replace('text = "Tai ung dung"\n', 'text = "Tai ung dung"\n'
                           'classification = "public_notice"\nclassified_by = "So TT&TT"\n')


def _load(tmp_path: Path, body: str) -> Any:
    path = tmp_path / "campaign.toml"
    path.write_text(NOTICE_HEAD + body, encoding="utf-8")
    return _runtime().load_campaign(path)

GATEWAYS = ('[channels.sms.gateways.zns]\nkind = "generic_http"\nurl = "http://x"\n'
            '[channels.sms.gateways.agg]\nkind = "generic_http"\nurl = "http://y"\n')


def test_routes_and_default_take_ordered_lists(tmp_path: Path) -> None:
    camp = _load(tmp_path, 'message = "invite"\nroutes.viettel = ["agg", "zns"]\n'
                           'default_gateway = ["zns", "agg"]\n' + GATEWAYS)
    routing = camp.channel("sms").routing()
    assert routing.candidates("viettel") == ("agg", "zns")
    assert routing.candidates("vnpt") == ("zns", "agg")


def test_the_single_gateway_forms_stay_valid(tmp_path: Path) -> None:
    camp = _load(tmp_path, 'message = "invite"\nroutes.viettel = "agg"\n'
                           'default_gateway = "zns"\nfallback = ["agg"]\n' + GATEWAYS)
    routing = camp.channel("sms").routing()
    assert routing.candidates("viettel") == ("agg",)
    assert routing.candidates("vnpt") == ("zns", "agg")


@pytest.mark.parametrize(("body", "expected"), [
    ('routes.viettel = ["agg", "nope"]\n',
     "channels.sms.routes.viettel[1]: gateway 'nope' is not configured (gateways: agg, zns)"),
    ('routes.viettel = ["agg", "agg"]\n',
     "channels.sms.routes.viettel[1]: gateway 'agg' is named twice (also "
     "routes.viettel[0])"),
    ('routes.viettel = []\n', "channels.sms.routes.viettel: expected a gateway id or a list"),
    ('routes.viettel = 3\n', "channels.sms.routes.viettel: expected a gateway id or a list"),
    ('routes.viettel = ["agg", 1]\n', "channels.sms.routes.viettel[1]: expected a gateway id"),
    ('default_gateway = ["zns", "nope"]\n',
     "channels.sms.default_gateway[1]: gateway 'nope' is not configured"),
    ('default_gateway = "nope"\n', "channels.sms.default_gateway: gateway 'nope' is not"),
])
def test_route_errors_are_located(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(CampaignFileError) as info:
        _load(tmp_path, 'message = "invite"\n' + body + GATEWAYS)
    assert expected in str(info.value)


def test_a_wrong_route_code_cannot_also_be_accepted(tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError) as info:
        _load(tmp_path, 'message = "invite"\n' + GATEWAYS
              + 'result = { already = ["x"], wrong_route = ["x"] }\n')
    assert "'x' in both result.already and result.wrong_route" in str(info.value)


def test_every_gateway_table_with_a_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    """`validate` lists all problems: two gateway tables each with a bad key give two
    located problems (it stopped at the first gateway)."""
    body = ('message = "invite"\ndefault_gateway = ["zns", "agg"]\n'
            '[channels.sms.gateways.zns]\nkind = "generic_http"\nurl = "ftp://x"\n'
            '[channels.sms.gateways.agg]\nkind = "generic_http"\nurl = "http://y"\nmax_batch = 0\n')
    with pytest.raises(CampaignFileError) as info:
        _load(tmp_path, body)
    keys = [p.key for p in info.value.problems]
    assert any(k.startswith("channels.sms.gateways.zns") for k in keys), keys
    assert any(k.startswith("channels.sms.gateways.agg") for k in keys), keys
