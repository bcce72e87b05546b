"""The reference campaign's four sign-up sources ingest their SAMPLE exports cleanly."""

from __future__ import annotations

from pathlib import Path

from langson_comms import FrozenClock, Runtime
from langson_comms.signups import SqliteSignupStore, ingest

from .conftest import ENV

REFERENCE = Path(__file__).parents[2] / "examples" / "langson_2022" / "campaign.toml"


def test_reference_campaign_ingests_its_sample_exports(runtime: Runtime, tmp_path: Path,
                                                       frozen_clock: FrozenClock) -> None:
    campaign = runtime.load_campaign(REFERENCE)
    assert campaign.signups is not None
    assert {k: s.platform for k, s in campaign.signups.sources.items()} == {
        "app": "cong_dan_so_xu_lang", "mbbank": "mbbank", "postmart": "postmart", "voso": "voso"}
    with SqliteSignupStore(tmp_path / "signups.sqlite") as store:
        report = ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert report.ok, report.rejections
        assert {k: c.accepted for k, c in report.sources.items()} == {
            "app": 400, "mbbank": 300, "postmart": 150, "voso": 150}
        assert report.totals.duplicates == 1
        status = store.status()
        assert status.by_kind == {"account_opened": 300, "first_purchase": 238, "install": 400,
                                  "seller_registered": 62}
        assert 0 < status.unattributed < status.total
