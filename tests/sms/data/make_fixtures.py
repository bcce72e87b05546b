"""Writes the messy audience fixtures in this folder (run: python make_fixtures.py).

The files are committed; this script documents exactly which bytes are in them and
why.  Expected buckets per row are in tests/sms/test_prepare.py.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

HERE = Path(__file__).parent


def to_cp1258(text: str) -> bytes:
    """Encode like Windows does: Windows-1258 has ă â ê ô ơ ư đ but writes the five tone
    marks as combining characters, so 'ễ' becomes 'ê' + U+0303.  Python's cp1258 codec
    does not decompose by itself."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", char)
        # Compose the base with the vowel-shape mark (â ă ơ …) and keep tone marks apart.
        for mark in marks:
            composed = unicodedata.normalize("NFC", base + mark)
            try:
                head = composed.encode("cp1258")
            except UnicodeEncodeError:
                continue
            if len(composed) == 1:
                out += head
                marks.remove(mark)
                break
        else:
            out += base.encode("cp1258")
        for mark in marks:
            out += mark.encode("cp1258")
    return bytes(out)


def main() -> None:
    # A: UTF-8 with BOM, semicolons, CRLF, a quoted value spanning two lines, a blank line.
    a_rows = [
        "Họ và tên;Số điện thoại;Xã/Phường;Ghi chú",
        "Nguyễn Văn An;0912 345 678;Tân Thành;",
        'Trần Thị Bình;+84 (0) 987-654-321;Hoàng Đồng;"nhà ở\r\nthôn 2"',
        "Lê Văn Cường;01689 123 456;Mai Pha;số cũ",
        "Hoàng Thị Dung;0205 3870 123;Tam Thanh;máy bàn",
        "Phạm Văn Em;0892 345 678;Chi Lăng;",
        "Vi Văn Giang;abc;Đồng Đăng;",
        "",
        "Đinh Thị Hoa;0912.345.678;Tân Thành;trùng",
        "Lương Văn Inh;0977 111 222;Na Sầm;",
        ";0966 222 333;Bắc Sơn;",
        "Mã Văn Kiên;0944 333 444;Hữu Lũng;a;b",
        "Nông Thị Lan;０９３３ ４４４ ５５５;Lộc Bình;",
    ]
    (HERE / "a_utf8_bom_semicolon_crlf.csv").write_bytes(
        codecs.BOM_UTF8 + "\r\n".join(a_rows).encode("utf-8") + b"\r\n")

    # B: Windows-1258 (decomposed tone marks), commas, LF, one undecodable byte (0x81),
    # no newline after the last line.
    b_lines = [
        to_cp1258("Ho ten,SĐT,Xa"),
        to_cp1258("Hà Văn Minh,84912345678,Văn Quan"),
        to_cp1258("Lò Thị Nga,0084 976 555 666,Bình Gia"),
        to_cp1258("Sầm Văn Ơn,0163 555 7777,Đình Lập"),
        to_cp1258("Tô Thị Phương,0905 666 777,Tràng Định"),
        to_cp1258("Xx,0912 000 111,") + b"\x81",
    ]
    (HERE / "b_cp1258_comma_lf.csv").write_bytes(b"\n".join(b_lines))

    # C: UTF-16 LE with BOM, tab-separated, CRLF (Excel's "Unicode text").
    c_rows = [
        "Tên\tDi động\tXã",
        "Quan Văn Quý\t(+84)359 888 999\tCao Lộc",
        "Hứa Thị Sen\t+84 168 912 3456\tCao Lộc",
        "Chu Văn Tài\t0552 111 222\tVăn Lãng",
    ]
    (HERE / "c_utf16_tab_crlf.csv").write_bytes(
        codecs.BOM_UTF16_LE + "\r\n".join(c_rows).encode("utf-16-le") + "\r\n".encode("utf-16-le"))

    # D: no header, one column of numbers, UTF-8 without BOM.
    (HERE / "d_headerless.csv").write_text(
        "0868 123 456\n0522 333 444\n0592 777 888\n0872 000 111\n", encoding="utf-8")

    # E: Excel's "sep=" first line, pipe-free commas inside quotes, UTF-8 without BOM.
    (HERE / "e_excel_sep.csv").write_text(
        'sep=,\nphone,name,commune\n"0981 000 001","Nguyễn, Văn A","Xã A"\n'
        '"0981 000 002","Bế Thị B","Xã B"\n', encoding="utf-8")

    (HERE / "dnc.csv").write_text("msisdn\n0977111222\n84911000999\nnot a number\n",
                                  encoding="utf-8")
    (HERE / "opt_out.txt").write_text("+84905666777\n", encoding="utf-8")


if __name__ == "__main__":
    main()
