"""The one tabular reader: quotes, encodings, spreadsheets, accounting of every line."""

from __future__ import annotations

import codecs
import tracemalloc
from pathlib import Path

import pytest
import xlsxwriter

from langson_comms.errors import DataError, DataErrors
from langson_comms.tabular import (
    RejectedRow,
    TableRow,
    printable,
    read_records,
    read_table,
)


def _rows(table: object) -> tuple[list[TableRow], list[RejectedRow]]:
    good: list[TableRow] = []
    bad: list[RejectedRow] = []
    for item in table:  # type: ignore[attr-defined]
        (bad if isinstance(item, RejectedRow) else good).append(item)
    return good, bad


def test_unclosed_quote_rejects_its_row_and_reading_goes_on(tmp_path: Path) -> None:
    lines = ["sdt,ten"] + [f"09123{i:05d},Ten {i}" for i in range(3000)]
    lines[6] = '0912300005,"Nguyen Van A'
    path = tmp_path / "a.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_table(path, required=["sdt", "ten"])
    good, bad = _rows(table)
    assert [(r.line, r.code, r.reason) for r in bad] == [
        (7, "unclosed_quote", "unclosed quote starting at line 7")]
    assert len(good) == 2999
    assert table.physical_lines == 3001
    assert table.data_lines == 3000 and table.rows == 2999 and table.rejected == 1


def test_a_swallowing_quote_that_meets_another_quote_is_still_caught(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('sdt,ten\n0912,"Nguyen\n0913,Tran\n0914,"Le" Thi\n0915,"open\n')
    good, bad = _rows(read_table(path, required=["sdt", "ten"]))
    assert [(r.line, r.code) for r in bad] == [(2, "unclosed_quote"), (5, "unclosed_quote")]
    assert [r.values["sdt"] for r in good] == ["0913", "0914"]


def test_a_quoted_multi_line_field_with_the_right_cells_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('# sample\nsdt,dia_chi\n\n0912,"Thôn 1\nXã Mai Pha"\n0913,x\n')
    table = read_table(path, required=["sdt"], optional=["dia_chi"])
    good, bad = _rows(table)
    assert bad == []
    assert [(r.line, r.end_line, r.values["dia_chi"]) for r in good] == [
        (4, 5, "Thôn 1\nXã Mai Pha"), (6, 6, "x")]
    assert (table.physical_lines, table.skipped_lines, table.header_line) == (6, 2, 2)
    table.check_accounted()


def test_a_field_over_the_csv_limit_is_a_located_rejection(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('sdt,ten\n0912,"' + "x" * 200_000 + '"\n0913,b\n')
    good, bad = _rows(read_table(path, required=["sdt", "ten"]))
    assert [(r.line, r.code) for r in bad] == [(2, "field_too_large")]
    assert "longer than" in bad[0].reason and len(bad[0].raw) < 300
    assert [r.values["sdt"] for r in good] == ["0913"]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16", "utf-8-sig"])
def test_utf16_with_and_without_bom_and_utf8_bom(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("sdt\tten\r\n0912\tNguyễn Văn Á\r\n".encode(codec))
    table = read_table(path, required=["sdt", "ten"])
    good, bad = _rows(table)
    assert bad == [] and good[0].values == {"sdt": "0912", "ten": "Nguyễn Văn Á"}
    assert table.delimiter == "\t"


def test_an_undecodable_byte_rejects_that_row_with_its_line_escaped(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("sdt,ten\n0912,Nguyễn\n".encode() + b"0913,Tr\xff\x01n\n0914,b\n")
    good, bad = _rows(read_table(path, required=["sdt", "ten"]))
    assert [(r.line, r.code) for r in bad] == [(3, "undecodable")]
    assert bad[0].raw == "0913,Tr\\xff\\x01n" and "line 3" in bad[0].reason
    assert [r.values["sdt"] for r in good] == ["0912", "0914"]


def test_undecodable_utf16_is_located_too(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    data = codecs.BOM_UTF16_LE + "sdt\n0912\n".encode("utf-16-le") + b"\x00\xd8" + "x\n0913\n".encode("utf-16-le")
    path.write_bytes(data)
    good, bad = _rows(read_table(path, required=["sdt"]))
    assert [(r.line, r.code) for r in bad] == [(3, "undecodable")]
    assert [r.values["sdt"] for r in good] == ["0912", "0913"]


def test_header_problems_are_located(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("# c\nname,extra\n1,2\n")
    with pytest.raises(DataError, match=r"a.csv:2: missing column\(s\) sdt"):
        read_table(path, required=["sdt"], optional=["name"])
    with pytest.raises(DataError, match=r"a.csv:2: unknown column\(s\) extra"):
        read_table(path, required=["name"])
    assert read_table(path, required=["name"], allow_unknown=True).header == ("name", "extra")
    assert read_table(path, required=["ten"], aliases={"name": "ten"},
                      allow_unknown=True).header == ("ten", "extra")
    (tmp_path / "empty.csv").write_text("# nothing\n\n")
    with pytest.raises(DataError, match="no header row"):
        read_table(tmp_path / "empty.csv", required=["sdt"])
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "missing.csv")


def test_valid_rows_lists_every_problem_of_the_file_together(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('a,b\n1,2\n1\n3,4\n1,2,3\n5,"x\n')
    table = read_table(path, required=["a", "b"])
    rows = []
    with pytest.raises(DataErrors) as caught:
        rows.extend(table.valid_rows())
    assert [r.values["a"] for r in rows] == ["1", "3"]
    assert [e.line for e in caught.value.errors] == [3, 5, 6]
    assert "a.csv:6: unclosed quote starting at line 6" in str(caught.value)


def test_xlsx_rows_are_numbered_as_in_the_sheet(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Danh sách")
    sheet.write_row(1, 0, ["SĐT", "Họ và tên"])
    sheet.write_row(2, 0, [912345678, "Nguyễn Văn A"])
    sheet.write_row(4, 0, ["0913000111", 1.5])
    other = book.add_worksheet("Khác")
    other.write_row(0, 0, ["sdt"])
    other.write_row(1, 0, ["0914"])
    book.close()
    table = read_table(path, required=["SĐT", "Họ và tên"])
    good, bad = _rows(table)
    assert bad == []
    assert [(r.line, r.values["SĐT"], r.values["Họ và tên"]) for r in good] == [
        (3, "912345678", "Nguyễn Văn A"), (5, "0913000111", "1.5")]
    assert table.header_line == 2
    second = read_table(path, required=["sdt"], sheet="Khác")
    assert [r.values for r in second] == [{"sdt": "0914"}]
    with pytest.raises(DataError, match="cannot read the spreadsheet"):
        read_table(path, sheet="Nope")


def test_records_layer_reads_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("sep=;\n0912;a\n0913;b\n")
    reader = read_records(path)
    assert [(r.line, r.cells) for r in reader] == [(2, ["0912", "a"]), (3, ["0913", "b"])]
    assert reader.delimiter == ";" and reader.accounted


def test_printable_escapes_binary_garbage() -> None:
    assert printable("a\x00b\udcff\ufffd") == "a\\x00b\\xff\\ufffd"
    assert printable("x" * 300, limit=10) == "x" * 10 + "…"


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w") as handle:
        handle.write("sdt,ten\n")
        handle.writelines(f"09{i:08d},Nguyen Van {i}\n" for i in range(100_000))
    tracemalloc.start()
    try:
        table = read_table(path, required=["sdt", "ten"])
        count = sum(1 for _ in table)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000 and table.rows == 100_000
    assert peak < 20 * 2**20


def test_a_quote_closing_at_a_later_rows_quote_is_caught_by_the_row_inside(tmp_path: Path) -> None:
    """The swallowed text closes cleanly (quote then delimiter) with the right cells;
    the whole row inside it gives it away."""
    path = tmp_path / "a.csv"
    path.write_text('sdt,ten,xa\n0912,"Nguyen,Mai Pha\n0913,Tran,Mai Pha\n0914,Le",Mai Pha\n'
                    '0915,"Thôn 1\nXã A, Huyện B",Mai Pha\n')
    good, bad = _rows(read_table(path, required=["sdt", "ten", "xa"]))
    assert [(r.line, r.code) for r in bad] == [(2, "unclosed_quote")]
    assert [r.values["sdt"] for r in good] == ["0913", "0914", "0915"]
    assert good[-1].values["ten"] == "Thôn 1\nXã A, Huyện B"


@pytest.mark.parametrize("lines", [
    # a name opening a quote that closes in the next row's first value: the row inside
    # the quoted value (0911…) would be lost, the record having the header's cells
    ['"Nguyen,0911111111,Xa', 'Tran",0922222222,Xb'],
    # the quote opens in the last column and closes at the end of the next row
    ['Nguyen,0911111111,"Xa', 'Tran,0922222222,Xb"'],
])
def test_a_quote_swallowing_a_whole_row_into_one_value_is_caught(
        tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "a.csv"
    path.write_text("\n".join(["ten,sdt,xa", *lines, "Le,0933333333,Xc"]) + "\n")
    table = read_table(path, required=["sdt"], optional=["ten", "xa"])
    good, bad = _rows(table)
    assert [(r.line, r.code) for r in bad] == [(2, "unclosed_quote")]
    assert [(r.line, r.values["sdt"]) for r in good] == [(3, "0922222222"), (4, "0933333333")]
    table.check_accounted()


def test_a_multi_line_value_holding_the_delimiter_but_no_whole_row_is_accepted(
        tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('ten,sdt,dia_chi\nA,0912,"Thôn 1, Xã Mai Pha\nHuyện Cao Lộc"\nB,0913,x\n')
    good, bad = _rows(read_table(path, required=["sdt"], optional=["ten", "dia_chi"]))
    assert bad == []
    assert [r.values["dia_chi"] for r in good] == ["Thôn 1, Xã Mai Pha\nHuyện Cao Lộc", "x"]


def test_a_data_row_starting_with_a_hash_is_data_not_a_comment(tmp_path: Path) -> None:
    """The review of issue 9: order ids like ``#1001`` were dropped as comments. After the
    header, a ``#`` line is a comment only when it has not the header's number of cells."""
    path = tmp_path / "orders.csv"
    path.write_text("# SAMPLE export\nexternal_id,kind\n#1001,install\n# a note, with a comma, here\n"
                    "#1002,install\n", encoding="utf-8")
    with read_table(path, required=("external_id", "kind")) as table:
        rows = [r for r in table if isinstance(r, TableRow)]
        assert [r.values["external_id"] for r in rows] == ["#1001", "#1002"]
        assert table.skipped_lines == 2
        table.check_accounted()
