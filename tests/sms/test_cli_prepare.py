"""`langson-comms sms prepare` run as a user runs it: a subprocess on messy files."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from langson_comms.cli import main

DATA = Path(__file__).parent / "data"
MESSY = ["a_utf8_bom_semicolon_crlf.csv", "b_cp1258_comma_lf.csv", "c_utf16_tab_crlf.csv"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langson_comms", "sms", "prepare", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120, encoding="utf-8",
    )


def audience_args() -> list[str]:
    return [arg for name in MESSY for arg in ("--audience", str(DATA / name))]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:  # quarantine/excluded have a BOM
        return list(csv.DictReader(handle))


def test_prepare_messy_files_json_totals_add_up(tmp_path: Path) -> None:
    result = run(str(DATA / "campaign.toml"), "--message", "invite", *audience_args(),
                 "--config", str(DATA / "prepare.toml"), "--opt-out", str(DATA / "opt_out.txt"),
                 "--send-at", "2022-07-01T09:00:00", "--unaccented", "--out-dir", "out",
                 "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    totals = plan["totals"]
    assert totals == {"rows_read": 19, "valid": 7, "quarantined": 7, "duplicates": 3,
                      "suppressed": 2, "adds_up": True}
    assert plan["quarantined_by_reason"] == {
        "landline": 1, "misaligned": 1, "missing_field": 1, "no_number": 1,
        "rejected_live_prefix": 2, "undecodable": 1}
    assert plan["suppressed_by_policy"] == {"do_not_call": 1, "opt_out": 1}
    assert sum(plan["carrier_hints"].values()) == 7
    assert plan["message"]["brandname"] == "UBND LSON"
    assert plan["message"]["template"].startswith("[QC] Chào {ten}")
    assert plan["encodings"] == {"GSM-7": 7}
    assert plan["alternative"]["encodings"] == {"UCS-2": 7}
    assert plan["cost"]["currency"] == "VND" and int(plan["cost"]["total"]) > 0
    assert [f["encoding"] for f in plan["files"]] == ["utf-8-sig", "cp1258", "utf-16"]

    out = tmp_path / "out"
    prepared, quarantine, excluded = (rows(out / f"{n}.csv")
                                      for n in ("prepared", "quarantine", "excluded"))
    # the files hold exactly the counted rows
    assert len(prepared) == totals["valid"]
    assert len(quarantine) == totals["quarantined"]
    assert len(excluded) == totals["duplicates"] + totals["suppressed"]
    assert all(r["msisdn"].startswith("+84") and len(r["msisdn"]) == 12 for r in prepared)
    assert {r["reason_code"] for r in quarantine} == set(plan["quarantined_by_reason"])
    located = {(r["source_file"], r["source_line"]) for r in prepared + quarantine + excluded}
    assert len(located) == totals["rows_read"]  # every row somewhere, once


def test_prepare_prints_a_readable_plan(tmp_path: Path) -> None:
    result = run(str(DATA / "campaign.toml"), "--message", "invite", *audience_args(),
                 "--dnc", str(DATA / "dnc.csv"), "--footer", "Tu choi QC soan TC gui 1234",
                 "--send-at", "2022-07-01T23:00:00", "--price", "default=800",
                 "--out-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "read 19 = valid 8 + quarantined 7 + duplicates 3 + suppressed 1: adds up" in text
    assert "sending_window: hold until 2022-07-02T07:00:00+07:00" in text
    assert "quarantined: landline" in text and "suppressed by do_not_call" in text
    assert "không dấu" in text and "with diacritics (chosen)" in text
    assert "frequency_cap: no --history given" in text


def test_public_notice_is_recorded_on_stdout_json_and_stderr_log(tmp_path: Path) -> None:
    result = run(str(DATA / "campaign.toml"), "--message", "notice", *audience_args(),
                 "--send-at", "2022-07-01T23:00:00", "--out-dir", str(tmp_path), "--json",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["message"]["classified_by"] == "Sở TTTT (CV 123)"
    assert "sending_window" in plan["message"]["advertising_rules_skipped"]
    assert plan["totals"]["adds_up"] and plan["totals"]["suppressed"] == 0
    assert "public_notice" in result.stderr and "Sở TTTT (CV 123)" in result.stderr


def test_errors_are_one_located_line_with_exit_code_2(tmp_path: Path) -> None:
    missing_dnc = run(str(DATA / "campaign.toml"), "--message", "invite", *audience_args(),
                      "--footer", "TC 1234", "--out-dir", str(tmp_path), cwd=tmp_path)
    assert missing_dnc.returncode == 2
    assert "policies.do_not_call.files: required" in missing_dnc.stderr
    bad_message = run(str(DATA / "campaign.toml"), "--message", "nope", *audience_args(),
                      cwd=tmp_path)
    assert bad_message.returncode == 2 and "has no message 'nope'" in bad_message.stderr
    bad_brand = run(str(DATA / "campaign.toml"), "--message", "notice", *audience_args(),
                    "--brandname", "TOO LONG BRANDNAME", cwd=tmp_path)
    assert bad_brand.returncode == 2 and "brandname" in bad_brand.stderr
    assert "Traceback" not in bad_brand.stderr


def test_policy_options_come_from_the_campaigns_sms_channel(tmp_path: Path) -> None:
    """[channels.sms] that sends this message gives brandname and policy tables, so
    preparation and the send engine apply the same options (paths relative to it)."""
    campaign = (DATA / "campaign.toml").read_text(encoding="utf-8") + f'''
[channels.sms]
kind = "sms"
mode = "carrier_broadcast"
carriers = ["viettel"]
message = "invite"
brandname = "UBND LSON"

[channels.sms.policies.opt_out_footer]
footer = "Tu choi QC soan TC gui 1234"

[channels.sms.policies.do_not_call]
files = ["{(DATA / 'dnc.csv').relative_to(DATA)}"]
'''
    (tmp_path / "campaign.toml").write_text(campaign, encoding="utf-8")
    (tmp_path / "dnc.csv").write_bytes((DATA / "dnc.csv").read_bytes())
    result = run(str(tmp_path / "campaign.toml"), "--message", "invite", *audience_args(),
                 "--send-at", "2022-07-01T09:00:00", "--out-dir", "out", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["message"]["brandname"] == "UBND LSON"
    assert plan["message"]["template"].endswith("Tu choi QC soan TC gui 1234")
    assert plan["suppressed_by_policy"] == {"do_not_call": 1}
    assert plan["totals"]["adds_up"]


def test_plan_shows_the_unaccented_text_that_is_sent(tmp_path: Path) -> None:
    result = run(str(DATA / "campaign.toml"), "--message", "invite", *audience_args(),
                 "--dnc", str(DATA / "dnc.csv"), "--footer", "Tu choi QC soan TC gui 1234",
                 "--send-at", "2022-07-01T09:00:00", "--unaccented", "--out-dir", str(tmp_path),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sent = next(line for line in result.stdout.splitlines() if "sent không dấu:" in line)
    text = sent.split("sent không dấu:", 1)[1].strip()
    assert text.startswith("[QC] Chao {ten}") and text.isascii()


def test_an_output_naming_an_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    """--prepared/--quarantine/--excluded naming an input (an audience, through a symbolic
    or a hard link too, the DNC list, the campaign file) is exit 2, the input untouched."""
    audience = tmp_path / "list.csv"
    shutil.copy(DATA / MESSY[0], audience)
    dnc = tmp_path / "dnc.csv"
    shutil.copy(DATA / "dnc.csv", dnc)
    campaign = tmp_path / "campaign.toml"
    shutil.copy(DATA / "campaign.toml", campaign)
    (tmp_path / "alias.csv").symlink_to(audience)
    os.link(audience, tmp_path / "hard.csv")
    originals = {p: p.read_bytes() for p in (audience, dnc, campaign)}
    for option, target in (("--prepared", audience), ("--quarantine", tmp_path / "alias.csv"),
                           ("--excluded", tmp_path / "hard.csv"), ("--prepared", dnc),
                           ("--quarantine", campaign)):
        result = run(str(campaign), "--message", "invite", "--audience", str(audience),
                     "--dnc", str(dnc), option, str(target), "--out-dir", "out",
                     "--footer", "Tu choi QC soan TC gui 1234", cwd=tmp_path)
        assert result.returncode == 2, (option, target, result.stderr)
        assert "an output never overwrites an input" in result.stderr
        assert {p: p.read_bytes() for p in originals} == originals
    result = run(str(campaign), "--message", "invite", "--audience", str(audience),
                 "--prepared", "same.csv", "--excluded", "same.csv", "--dnc", str(dnc),
                 "--footer", "Tu choi QC soan TC gui 1234", cwd=tmp_path)
    assert result.returncode == 2 and "each output needs its own file" in result.stderr


def test_a_failed_run_leaves_no_partial_output(tmp_path: Path) -> None:
    """A run that fails after rows were written (the last audience file has no phone
    column) leaves no prepared.csv, and an older quarantine.csv as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "quarantine.csv").write_text("old\n", encoding="utf-8")
    broken = tmp_path / "broken.csv"
    broken.write_text("ten,dia_chi\nA,B\n", encoding="utf-8")
    result = run(str(DATA / "campaign.toml"), "--message", "invite", *audience_args(),
                 "--audience", str(broken), "--footer", "Tu choi QC soan TC gui 1234",
                 "--dnc", str(DATA / "dnc.csv"),
                 "--out-dir", str(out), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["quarantine.csv"]
    assert (out / "quarantine.csv").read_text(encoding="utf-8") == "old\n"


def test_prepare_exit_codes_through_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sms", "prepare", str(DATA / "campaign.toml"), "--message", "invite",
            "--audience", str(DATA / MESSY[0]), "--out-dir", str(tmp_path),
            "--footer", "Tu choi QC soan TC gui 1234", "--dnc", str(DATA / "dnc.csv")]
    assert main(args) == 0
    assert main([*args[:4], "nope", *args[5:]]) == 2  # unknown message
    assert "--message" in capsys.readouterr().err


def _big_audience(path: Path, bad_line: int | None = None) -> None:
    """3,000 distinct valid mobiles; ``bad_line`` gets a name opening a quote it never closes."""
    lines = ["sdt,ten,xa"]
    for i in range(3000):
        lines.append(f"0912{i:06d},Nguyen Van {i},Mai Pha")
    if bad_line is not None:
        lines[bad_line - 1] = f'0913{bad_line:06d},"Nguyen Thi,Mai Pha'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_unclosed_quote_quarantines_its_row_and_the_rest_is_read(tmp_path: Path) -> None:
    """Issue 13.1: one name opening a quote swallowed 2,990 rows (rows_read 11, exit 0)."""
    audience = tmp_path / "audience.csv"
    _big_audience(audience, bad_line=12)
    result = run(str(DATA / "campaign.toml"), "--message", "notice", "--audience",
                 str(audience), "--send-at", "2022-07-01T09:00:00", "--out-dir", "out",
                 "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["totals"]["rows_read"] == 3000
    assert plan["totals"]["valid"] == 2999 and plan["totals"]["adds_up"]
    assert plan["quarantined_by_reason"] == {"unclosed_quote": 1}
    quarantine = rows(tmp_path / "out" / "quarantine.csv")
    assert [(q["source_line"], q["reason"]) for q in quarantine] == [
        ("12", "unclosed quote starting at line 12")]


def test_an_xlsx_audience_is_read_with_sheet_row_numbers(tmp_path: Path) -> None:
    """Issue 13.12: agencies send spreadsheets."""
    import xlsxwriter

    audience = tmp_path / "danh_sach.xlsx"
    book = xlsxwriter.Workbook(str(audience))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Số điện thoại", "Họ và tên", "Xã/Phường"])
    sheet.write_row(1, 0, [912345678, "Nguyễn Văn A", "Mai Pha"])
    sheet.write_row(3, 0, ["0389123456", "Trần Thị B", "Hoàng Đồng"])
    sheet.write_row(4, 0, ["12345", "Lê C", "Mai Pha"])
    book.close()
    result = run(str(DATA / "campaign.toml"), "--message", "notice", "--audience",
                 str(audience), "--send-at", "2022-07-01T09:00:00", "--out-dir", "out",
                 "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["totals"]["rows_read"] == 3 and plan["totals"]["valid"] == 2
    assert plan["files"][0]["encoding"] == "xlsx"
    prepared = rows(tmp_path / "out" / "prepared.csv")
    assert [(p["msisdn"], p["source_line"], p["ten"]) for p in prepared] == [
        ("+84912345678", "2", "Nguyễn Văn A"), ("+84389123456", "4", "Trần Thị B")]
    assert rows(tmp_path / "out" / "quarantine.csv")[0]["source_line"] == "5"


def test_an_empty_audience_warns(tmp_path: Path) -> None:
    """Issue 13.12: a header-only (or empty) audience is said out loud."""
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("sdt,ten,xa\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = run(str(DATA / "campaign.toml"), "--message", "notice", "--audience",
                 str(header_only), "--audience", str(empty), "--send-at",
                 "2022-07-01T09:00:00", "--out-dir", "out", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notes = json.loads(result.stdout)["notes"]
    assert any("header_only.csv" in n and "no data rows" in n for n in notes), notes
    assert any("empty.csv" in n and "no data rows" in n for n in notes), notes
    text = run(str(DATA / "campaign.toml"), "--message", "notice", "--audience",
               str(header_only), "--send-at", "2022-07-01T09:00:00", "--out-dir", "out2",
               cwd=tmp_path)
    assert "warning" in text.stderr.lower() and "no data rows" in text.stderr


def test_binary_garbage_is_never_printed(tmp_path: Path) -> None:
    """Issue 13.12: an error about a binary file escapes what it quotes."""
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x00\x01\x02\x1b[31m\x7f\xfe,\x03\x04\n\x05\x06,\x07\n")
    result = run(str(DATA / "campaign.toml"), "--message", "notice", "--audience",
                 str(junk), "--send-at", "2022-07-01T09:00:00", "--out-dir", "out",
                 cwd=tmp_path)
    assert result.returncode == 2
    assert "junk.csv:1" in result.stderr
    assert not any(ch in result.stderr for ch in "\x00\x01\x02\x1b\x7f\x03\x05")


def test_quarantine_and_excluded_have_a_bom_for_excel_and_prepared_has_none(tmp_path: Path) -> None:
    # Review: quarantine.csv and excluded.csv (files people open in Excel to fix rows)
    # had no BOM, so Excel on Windows garbled Vietnamese, while run-sheets and the
    # leaderboard had one; prepared.csv, read by `sms send` and other programs, has none.
    audience = tmp_path / "Danh sách xã Hoàng Đồng.csv"
    audience.write_text("so_dien_thoai,ten,xa\n0912345678,Nguyễn Văn Ánh,Hoàng Đồng\n"
                        "0912345678,Nguyễn Văn Ánh,Hoàng Đồng\n02053123456,Hoàng Thị Đào,Hoàng Đồng\n",
                        encoding="utf-8")
    result = run(str(DATA / "campaign.toml"), "--message", "invite", "--audience", str(audience),
                 "--config", str(DATA / "prepare.toml"), "--send-at", "2022-07-01T09:00:00",
                 "--out-dir", "out", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    for name in ("quarantine", "excluded"):
        data = (out / f"{name}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), name
        assert "Danh sách xã Hoàng Đồng.csv" in data.decode("utf-8-sig"), name
        assert len(rows(out / f"{name}.csv")) == 1
    assert not (out / "prepared.csv").read_bytes().startswith(b"\xef\xbb\xbf")
