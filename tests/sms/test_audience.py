"""Reading audience files as offices export them; the prepared and quarantine files."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from langson_comms.errors import DataError
from langson_comms.sms.audience import (
    PREPARED_COLUMNS,
    NumberList,
    PreparedRow,
    header_key,
    iter_prepared,
    open_audience,
    write_prepared,
)
from langson_comms.sms.numbers import Carrier

from .data.make_fixtures import to_cp1258

DATA = Path(__file__).parent / "data"


def read(path: Path, **options: object) -> tuple[dict[str, object], list[tuple[int, str, dict[str, str], str | None]]]:
    info, rows = open_audience(path, **options)  # type: ignore[arg-type]
    found = [(r.line, r.raw, dict(r.fields), r.problem_code) for r in rows]
    return info.as_dict(), found


def test_utf8_bom_semicolons_crlf_multiline_and_blank_lines() -> None:
    info, rows = read(DATA / "a_utf8_bom_semicolon_crlf.csv")
    assert info["encoding"] == "utf-8-sig" and info["delimiter"] == ";"
    assert info["header"][0] == "Họ và tên"  # BOM gone
    assert info["phone_column"] == "Số điện thoại"
    assert info["fields"] == ["ten", "xa", "ghi_chu"]
    assert info["rows"] == 11 and info["blank_lines"] == 1
    lines = [line for line, *_ in rows]
    assert lines == [2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14]  # row 3 spans lines 3-4
    assert rows[1][2]["ghi_chu"] == "nhà ở\r\nthôn 2"
    assert rows[9][3] == "misaligned"
    assert rows[10][1] == "０９３３ ４４４ ５５５"


def test_windows_1258_is_decoded_and_composed_to_nfc() -> None:
    raw = (DATA / "b_cp1258_comma_lf.csv").read_bytes()
    assert b"\xcc" in raw  # a combining grave accent byte: the file is decomposed
    info, rows = read(DATA / "b_cp1258_comma_lf.csv")
    assert info["encoding"] == "cp1258" and info["delimiter"] == ","
    assert info["phone_column"] == "SĐT"
    names = [fields["ten"] for _, _, fields, _ in rows]
    assert names[:4] == ["Hà Văn Minh", "Lò Thị Nga", "Sầm Văn Ơn", "Tô Thị Phương"]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    # the last line has a byte cp1258 does not define: kept, flagged, counted
    assert rows[-1][0] == 6 and rows[-1][3] == "undecodable"
    assert info["undecodable_lines"] == 1


def test_utf16_with_bom_tabs_crlf() -> None:
    info, rows = read(DATA / "c_utf16_tab_crlf.csv")
    assert info["encoding"] == "utf-16" and info["delimiter"] == "\t"
    assert info["header"] == ["Tên", "Di động", "Xã"]
    assert [r[1] for r in rows] == ["(+84)359 888 999", "+84 168 912 3456", "0552 111 222"]
    assert [r[0] for r in rows] == [2, 3, 4]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes("sdt,tên\r\n0912345678,Đức\r\n".encode(codec))
    info, rows = read(path)
    assert info["encoding"] == codec
    assert rows == [(2, "0912345678", {"ten": "Đức"}, None)]


def test_encoding_is_settled_at_the_first_non_ascii_line(tmp_path: Path) -> None:
    """A cp1258 file whose first hundred lines are ASCII is still read as cp1258."""
    lines = [b"phone,name"] + [f"09123450{i:02d},An".encode() for i in range(100)]
    lines.append(to_cp1258("0987654321,Đặng Thị Ánh"))
    path = tmp_path / "late.csv"
    path.write_bytes(b"\r\n".join(lines))
    info, rows = read(path)
    assert info["encoding"] == "cp1258"
    assert rows[-1][2] == {"ten": "Đặng Thị Ánh"}
    assert all(code is None for *_, code in rows)


def test_utf8_without_bom_and_an_invalid_line_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("sdt,ten\n0912345678,Đức\n".encode() + b"0987654321,\xff\xfe\n")
    info, rows = read(path)
    assert info["encoding"] == "utf-8"
    assert rows[0][3] is None and rows[1][3] == "undecodable"


def test_excel_sep_line_and_quoted_delimiters() -> None:
    info, rows = read(DATA / "e_excel_sep.csv")
    assert info["delimiter"] == ","
    assert rows[0] == (3, "0981 000 001", {"ten": "Nguyễn, Văn A", "xa": "Xã A"}, None)


def test_headerless_file_of_numbers() -> None:
    info, rows = read(DATA / "d_headerless.csv")
    assert info["has_header"] is False and info["phone_column"] == "col1"
    assert [r[0] for r in rows] == [1, 2, 3, 4]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "d.csv"
    rows = [["so_dien_thoai", "ho_ten", "dia_chi"],
            ["0912345678", "An", '"Thôn 1, xã A; huyện B"'],
            ["0987654321", "Bình", "Thôn 2"]]
    path.write_text("\n".join(delimiter.join(r) for r in rows) + "\n", encoding="utf-8")
    info, found = read(path)
    assert info["delimiter"] == delimiter
    assert found[0][2] == {"ten": "An", "dia_chi": "Thôn 1, xã A; huyện B"}


@pytest.mark.parametrize(
    "header",
    ["sdt", "SĐT", "Sđt", "so_dien_thoai", "Số điện thoại", "SỐ ĐIỆN THOẠI ", "số_điện_thoại",
     "phone", "Phone Number", "msisdn", "MSISDN", "mobile", "Di động", "Điện thoại",
     "Số di động", "tel", "Số thuê bao"],
)
def test_phone_header_aliases(tmp_path: Path, header: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(f"Họ tên,{header},Xã phường\nAn,0912345678,Mai Pha\n", encoding="utf-8")
    info, rows = read(path)
    assert info["phone_column"] == header.strip()
    assert rows[0][1] == "0912345678"
    assert rows[0][2] == {"ten": "An", "xa": "Mai Pha"}


def test_header_key_normalises_vietnamese_headers() -> None:
    assert header_key("\ufeffSố điện thoại ") == "so_dien_thoai"
    assert header_key("Xã/Phường") == "xa_phuong"
    assert header_key(unicodedata.normalize("NFD", "Họ và tên")) == "ho_va_ten"


def test_phone_column_can_be_named_and_missing_one_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("ten,lien_he,ghi_chu\nAn,0912345678,x\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x.csv:1: no phone column in the header") as caught:
        read(path)
    assert "lien_he" in str(caught.value)
    info, rows = read(path, phone_column="Liên hệ")
    assert rows[0][1] == "0912345678" and info["fields"] == ["ten", "ghi_chu"]
    with pytest.raises(DataError, match="no column 'sdt'"):
        read(path, phone_column="sdt")


def test_duplicate_and_empty_header_names_get_unique_keys(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("sdt,ghi chú,ghi_chu,\n0912345678,a,b,c\n", encoding="utf-8")
    info, rows = read(path)
    assert info["fields"] == ["ghi_chu", "ghi_chu_2", "col4"]
    assert rows[0][2] == {"ghi_chu": "a", "ghi_chu_2": "b", "col4": "c"}


def test_empty_file_and_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(codecs.BOM_UTF8)
    info, rows = read(empty)
    assert rows == [] and info["rows"] == 0
    with pytest.raises(DataError, match=r"nope.csv: audience file not found"):
        read(tmp_path / "nope.csv")


def test_prepared_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "prepared.csv"
    rows = [PreparedRow("+84912345678", Carrier.VINAPHONE, "a.csv", 2, {"ten": "Đức", "xa": "X"}),
            PreparedRow("+84389123456", Carrier.VIETTEL, "b.csv", 7, {"ten": "An, B"})]
    assert write_prepared(path, rows, ["ten", "xa"]) == 2
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join((*PREPARED_COLUMNS, "ten", "xa"))
    back = list(iter_prepared(path))
    assert back[0] == rows[0]
    assert back[1].fields == {"ten": "An, B", "xa": ""}


def test_iter_prepared_rejects_bad_files(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("phone,ten\n0912345678,An\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"wrong.csv:1: not a prepared audience file"):
        list(iter_prepared(wrong))
    bad = tmp_path / "bad.csv"
    bad.write_text("msisdn,carrier_hint,source_file,source_line\n0912345678,viettel,a,1\n",
                   encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv:2: msisdn: msisdn is not E.164"):
        list(iter_prepared(bad))


def test_number_list_from_any_file_shape() -> None:
    dnc = NumberList.from_file(DATA / "dnc.csv")
    assert len(dnc) == 2 and dnc.unusable == 1
    assert "+84977111222" in dnc and "+84911000999" in dnc and "+84912345678" not in dnc
    assert "0977111222" not in dnc  # only E.164 is looked up
    opt = NumberList.from_file(DATA / "opt_out.txt")
    assert "+84905666777" in opt


def test_dnc_list_with_an_unclosed_quote_keeps_every_later_number(tmp_path: Path) -> None:
    """Issue 13.1: a quote opened in a DNC list must not swallow the numbers after it
    (they would be texted although they asked not to be)."""
    path = tmp_path / "dnc.csv"
    lines = ["msisdn,ghi_chu", '0977111222,"yeu cau ngay 1/9'] + [
        f"0977{i:06d},ok" for i in range(100)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dnc = NumberList.from_file(path)
    assert len(dnc) == 100 and "+84977000099" in dnc and "+84977000000" in dnc
    assert dnc.unusable == 1
    assert dnc.unusable_examples == ["line 2: unclosed quote starting at line 2"]


def test_audience_rows_after_a_bad_byte_and_an_oversized_field_are_read(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("sdt,ten\n0912345678,Đức\n".encode() + b"0987654321,\xff\x1b\n"
                     + b'0912000111,"' + b"x" * 140_000 + b'"\n0912000222,An\n')
    info, rows = read(path)
    assert [(line, code) for line, _, _, code in rows] == [
        (2, None), (3, "undecodable"), (4, "field_too_large"), (5, None)]
    assert rows[1][2] == {"ten": "\\xff\\x1b"}
    assert info["rows"] == 4
