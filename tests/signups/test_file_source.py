"""The built-in ``file`` source against real, messy input: CSV and .xlsx exports."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from langson_comms import FrozenClock, Runtime
from langson_comms.default_plugins import signups as signups_plugin
from langson_comms.default_plugins.signups import FileSource
from langson_comms.errors import CampaignFileError, DataError
from langson_comms.signups import SqliteSignupStore, ingest
from langson_comms.testing import SignupSourceContract

from .conftest import ENV, write_campaign

MBBANK = """
[signups.mbbank]
kind = "file"
platform = "mbbank"
files = ["mbbank.csv"]
default_kind = "account_opened"
columns = { external_id = "Mã giao dịch", occurred_at = "Ngày mở", phone = "SĐT", team_code = "Mã tổ" }
"""


def write(path: Path, text: str, encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def load(runtime: Runtime, folder: Path, extra: str) -> Any:
    return runtime.load_campaign(write_campaign(folder, extra))


def test_messy_csv_rows_are_located_rejections_and_good_rows_go_on(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    write(tmp_path / "mbbank.csv", (
        "Mã giao dịch;Ngày mở;SĐT;Mã tổ;Ghi chú\r\n"
        "MB-1;01/07/2022 08:15;0912 345 678;T100;ok\r\n"
        "MB-2;hôm qua;0912 345 679;T100;bad date\r\n"
        "MB-3;2022-07-02;0243 123 4567;T100;landline\r\n"
        ";2022-07-02;;T100;no id\r\n"
        "MB-4;2022-07-03T10:00:00+07:00;+84 912 345 680;NOPE;unknown team\r\n"
        "MB-5;\"2022-07-04;;T100;unclosed quote\r\n"
        "MB-6;2022-07-05 09:00;;;last\r\n"
    ))
    campaign = load(runtime, tmp_path, MBBANK)
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        report = ingest(campaign, store, clock=frozen_clock, env=ENV)
        counts = report.sources["mbbank"]
        assert (counts.read, counts.accepted, counts.rejected, counts.duplicates) == (7, 3, 4, 0)
        assert counts.unattributed == 2  # MB-4 (unknown team code) and MB-6 (no team, no commune)
        found = [r.format() for r in store.rejections()]
        assert found[0].startswith("mbbank.csv:3: Ngày mở: 'hôm qua' is not a date-time")
        assert found[1] == "mbbank.csv:4: SĐT: not a usable mobile number (landline)"
        assert found[2].startswith("mbbank.csv:5: Mã giao dịch: external_id is empty")
        assert found[3].startswith("mbbank.csv:7: unclosed quote")
        assert not any("4567" in text or "345" in text for text in found)
        kinds = {r[0] for r in store._db.execute("SELECT kind FROM signups")}
        assert kinds == {"account_opened"}


def test_xlsx_export_with_numbers_and_dates(runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    book = xlsxwriter.Workbook(str(tmp_path / "voso.xlsx"))
    sheet = book.add_worksheet("Đơn hàng")
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    sheet.write_row(0, 0, ["external_id", "kind", "occurred_at", "phone", "commune_code"])
    sheet.write_row(1, 0, ["V-1", "first_purchase"])
    sheet.write_datetime(1, 2, dt.datetime(2022, 7, 1, 9, 30), when)
    sheet.write_number(1, 3, 912345678)  # the spreadsheet dropped the leading 0
    sheet.write_number(1, 4, 100)
    sheet.write_row(2, 0, ["V-2", "seller_registered", "2022-07-02 10:00", "", "0300"])
    sheet.write_row(3, 0, ["V-3", "Mua hàng", "2022-07-02 10:00", "", ""])
    book.close()
    campaign = load(runtime, tmp_path, '[signups.voso]\nkind = "file"\nplatform = "voso"\nfiles = ["voso.xlsx"]\n')
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        counts = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["voso"]
        assert (counts.read, counts.accepted, counts.rejected) == (3, 2, 1)
        assert [r.format() for r in store.rejections()] == [
            "voso.xlsx:4: kind: 'Mua hàng' is not a sign-up kind (expected lower-case letters, digits and _,"
            " starting with a letter)"]
        rows = sorted(store._db.execute("SELECT external_id, day, team_code, commune_code, phone_hash IS NOT NULL"
                                        " FROM signups"))
        assert rows == [("V-1", "2022-07-01", "T100", "100", 1), ("V-2", "2022-07-02", None, "300", 0)]


def test_duplicates_across_files_and_sources_are_one_event(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    header = "external_id,kind,occurred_at\n"
    write(tmp_path / "a.csv", header + "1,install,2022-07-01\n2,install,2022-07-01\n")
    write(tmp_path / "b.csv", header + "2,install,2022-07-01\n3,install,2022-07-01\n")
    write(tmp_path / "c.csv", header + "3,install,2022-07-01\n3,account_opened,2022-07-01\n")
    campaign = load(runtime, tmp_path, (
        '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["a.csv", "b.csv"]\n'
        '[signups.app_again]\nkind = "file"\nplatform = "app"\nfiles = ["c.csv"]\n'))
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        report = ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert report.sources["app"].duplicates == 1 and report.sources["app_again"].duplicates == 1
        assert report.totals.accepted == store.count() == 4  # 1, 2, 3 installs and one account


def test_resume_after_a_crash_mid_file(runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    from langson_comms.signups import SignupRecorder

    lines = [f"{i},install,2022-07-01" for i in range(1, 11)]
    write(tmp_path / "a.csv", "external_id,kind,occurred_at\n" + "\n".join(lines) + "\n")
    campaign = load(runtime, tmp_path, '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["a.csv"]\n'
                                       "batch_size = 3\n")
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        source = campaign.signups.sources["app"]
        recorder = SignupRecorder(campaign, store, clock=frozen_clock, pseudonymizer=None)
        batches = source.read(None, clock=frozen_clock)
        recorder.record("app", next(batches))
        recorder.record("app", next(batches))
        del batches  # the process dies here, mid-file
        report = ingest(campaign, store, clock=frozen_clock, env=ENV)
        assert (report.sources["app"].read, report.sources["app"].duplicates) == (4, 0)
        assert sorted(int(r[0]) for r in store._db.execute("SELECT external_id FROM signups")) == list(range(1, 11))
        # the export grows: only the new rows are read
        with (tmp_path / "a.csv").open("a") as handle:
            handle.write("11,install,2022-07-02\n")
        assert ingest(campaign, store, clock=frozen_clock, env=ENV).sources["app"].read == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_an_export_caught_mid_write_is_read_again_when_it_grows(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock, encoding: str
) -> None:
    # Review: an export read while the platform was still appending to it ends in a
    # partial line ("12,install,2022-07-0", no newline).  It was rejected, the position
    # moved past it, and the completed row was never read: lost.
    rows = "".join(f"{i},install,2022-07-01\n" for i in range(1, 300))  # > 4 KiB: same head
    write(tmp_path / "a.csv", "external_id,kind,occurred_at\n" + rows + "300,install,2022-07-0", encoding)
    campaign = load(runtime, tmp_path, '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["a.csv"]\n')
    with SqliteSignupStore(tmp_path / "s.sqlite") as store:
        first = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["app"]
        assert (first.read, first.accepted, first.rejected) == (300, 299, 1)
        unchanged = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["app"]
        assert unchanged.read == 0, "a file that did not change is not read again"
        with (tmp_path / "a.csv").open("ab") as handle:
            handle.write("2\n301,install,2022-07-03\n".encode(encoding)[2 if encoding == "utf-16" else 0:])
        grown = ingest(campaign, store, clock=frozen_clock, env=ENV).sources["app"]
        assert (grown.read, grown.accepted, grown.rejected) == (2, 2, 0)
        ids = {r[0] for r in store._db.execute("SELECT external_id FROM signups")}
        assert ids == {str(i) for i in range(1, 302)}


def test_missing_required_column_names_the_file_and_header(
    runtime: Runtime, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    write(tmp_path / "a.csv", "id,when\n1,2022-07-01\n")
    campaign = load(runtime, tmp_path, '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["a.csv"]\n')
    with SqliteSignupStore(tmp_path / "s.sqlite") as store, pytest.raises(DataError) as info:
        ingest(campaign, store, clock=frozen_clock, env=ENV)
    assert str(info.value).startswith("a.csv:1: missing column(s) external_id, occurred_at, kind")


def test_bad_configuration_is_located(runtime: Runtime, tmp_path: Path) -> None:
    with pytest.raises(CampaignFileError) as info:
        load(runtime, tmp_path, '[signups.app]\nkind = "file"\nplatform = "app"\nfiles = ["a.csv"]\n'
                                'columns = { id = "Mã" }\n')
    assert "signups.app.columns.id: 'id' is not an event field" in str(info.value)
    with pytest.raises(CampaignFileError) as info:
        load(runtime, tmp_path, '[signups.app]\nkind = "fil"\nplatform = "app"\n')
    assert "signups.app.kind: no signup_source named 'fil' (known: file, http_poll, webhook)" in str(info.value)


class TestFileSourceContract(SignupSourceContract):
    contributed_class = FileSource
    example_config: Mapping[str, Any] = {"platform": "mbbank", "files": ["export.csv"]}
    plugin = signups_plugin

    def source_with(self, tmp_path: Path, items: Sequence[Mapping[str, str]], batch_size: int) -> FileSource:
        path = tmp_path / "export.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(items[0]))
            writer.writeheader()
            writer.writerows(items)
        return FileSource(key="export", platform=self.platform, files=[str(path)], batch_size=batch_size)
