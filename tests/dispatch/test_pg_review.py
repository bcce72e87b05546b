"""Review of issue 12 (PostgreSQL ledger, several senders) as a careless or hostile user:
ledger values that are not what they look like, located errors, a server restarted while
a sender writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from langson_comms.errors import CampaignFileError, LedgerError
from langson_comms.sms.ledger import open_ledger
from langson_comms.sms.ledger.postgres import PostgresLedger
from langson_comms.store_url import store_location

from .test_postgres_ledger import _load, _pg_campaign


@pytest.mark.parametrize("value", [
    # libpq's keyword/value form: it would become a SQLite file named after the password
    "host=db.example port=5432 dbname=ledger user=lang password=S3cretPw",
    "dbname=ledger user=lang",
    # a URL with a slash missing: a folder "postgresql:" and a file, not the server
    "postgresql:/ledger",
    "postgres:ledger",
    "sqlite:work/l.sqlite",
])
def test_a_value_that_is_not_a_path_nor_a_url_is_refused_without_quoting_it(
        tmp_path: Path, carrier_simulator: Any, value: str) -> None:
    with pytest.raises(ValueError) as direct:
        store_location(value, base_dir=tmp_path)
    assert "S3cretPw" not in str(direct.value)
    _pg_campaign(tmp_path, carrier_simulator(), value, n=1)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    assert "channels.sms.ledger" in str(caught.value) and "campaign.toml:" in str(caught.value)
    assert "postgresql://user@host:port/database" in str(caught.value)
    assert "S3cretPw" not in str(caught.value)
    with pytest.raises(LedgerError):
        open_ledger(value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["campaign.toml", "prepared.csv"]


def test_an_unreadable_url_is_a_located_error(tmp_path: Path, carrier_simulator: Any) -> None:
    _pg_campaign(tmp_path, carrier_simulator(), "postgresql://lang@[::1/ledger", n=1)
    with pytest.raises(CampaignFileError) as caught:
        _load(tmp_path)
    text = str(caught.value)
    assert "channels.sms.ledger" in text and "campaign.toml:" in text
    assert "raised while reading" not in text


def test_a_newer_schema_is_refused_naming_the_server(postgres_url: str) -> None:
    PostgresLedger(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("INSERT INTO schema_version (component, version, description)"
                     " VALUES ('sms_ledger', 999, 'from the future')")
    with pytest.raises(LedgerError) as caught:
        PostgresLedger(postgres_url)
    assert str(caught.value).startswith(postgres_url.rsplit("/", 1)[0])
    assert "newer than this version" in str(caught.value)
