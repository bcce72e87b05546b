"""Audience files: reading subscriber lists as offices export them, and the prepared file.

``read_audience(path)`` streams one CSV file (or the first sheet of an ``.xlsx``
workbook, line numbers being sheet rows) row by row in constant memory and yields an
``AudienceRow`` per data row (blank lines are counted, not yielded).  Parsing is the
project's one tabular reader (``langson_comms.tabular``); a row it rejects (a quote
opened and never closed, an oversized field, undecodable bytes) is yielded with
``problem`` set and reading goes on.  It copes with:

* encodings — a UTF-8 BOM, a UTF-16 BOM (LE or BE; BOM-less UTF-16 is recognised by its
  zero bytes), else UTF-8, else the fallback (``cp1258``, Windows-1258, as Vietnamese
  Windows exports it).  The choice is made lazily at the first non-ASCII line, so a
  file whose first megabytes are ASCII is still read right.  Python's ``cp1258`` codec
  does not compose: Windows-1258 writes tone marks as combining characters, so every
  decoded line is normalised to NFC.  A line that does not decode is yielded with
  ``problem`` set (it is quarantined, not lost; its bytes shown as ``\\xNN``);
* CRLF, LF and a final line without a newline; quoted fields spanning lines (the row's
  ``line`` is where it starts);
* the delimiter — Excel's ``sep=;`` first line, else ``csv.Sniffer`` over the first
  lines among ``, ; TAB |``, else the one most frequent in the header;
* header aliases — the phone column may be called ``sdt``, ``SĐT``, ``so_dien_thoai``,
  ``Số điện thoại``, ``phone``, ``msisdn``, ``mobile``, ``di động`` …; other columns are kept
  as per-recipient fields under a normalised name (``Họ và tên`` → ``ten``, ``Xã/Phường``
  → ``xa``, see ``FIELD_ALIASES``), for message templates.  A file without a header whose
  first row holds a phone number is read with fields ``col1``, ``col2`` ….

The prepared audience (``write_prepared``/``iter_prepared``) is the hand-over to the
send engine: UTF-8 CSV with header ``msisdn,carrier_hint,source_file,source_line`` then
the extra fields; msisdn in E.164.  The quarantine file holds
``source_file,source_line,raw_value,reason_code,reason``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from ..errors import DataError
from ..outputs import atomic_output
from ..tabular import Record, RejectedRow, header_key, printable, read_records
from .numbers import Carrier, NumberNormalizer

__all__ = [
    "FIELD_ALIASES",
    "PHONE_ALIASES",
    "PREPARED_COLUMNS",
    "QUARANTINE_COLUMNS",
    "AudienceFile",
    "AudienceRow",
    "NumberList",
    "PreparedRow",
    "PreparedWriter",
    "QuarantineWriter",
    "header_key",
    "iter_prepared",
    "open_audience",
    "read_audience",
    "write_prepared",
]

PREPARED_COLUMNS = ("msisdn", "carrier_hint", "source_file", "source_line")
QUARANTINE_COLUMNS = ("source_file", "source_line", "raw_value", "reason_code", "reason")

#: Normalised header names (see ``header_key``) that mean "the phone number".
PHONE_ALIASES: frozenset[str] = frozenset({
    "sdt", "so_dt", "so_dien_thoai", "sodienthoai", "dien_thoai", "dt", "dtdd",
    "dien_thoai_di_dong", "so_dien_thoai_di_dong", "di_dong", "so_di_dong", "so_thue_bao",
    "thue_bao", "phone", "phone_number", "phonenumber", "mobile", "mobile_number",
    "mobile_phone", "cell", "cellphone", "msisdn", "tel", "telephone", "so_dien_thoai_lien_he",
})

#: Normalised header names mapped to the field name templates use.
FIELD_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(
        ("ten", "ho_ten", "ho_va_ten", "hoten", "ten_cong_dan", "ho_ten_cong_dan", "name",
         "full_name", "fullname"), "ten"),
    **dict.fromkeys(
        ("xa", "xa_phuong", "phuong_xa", "xa_phuong_thi_tran", "xa_thi_tran", "commune",
         "ward"), "xa"),
    **dict.fromkeys(("huyen", "quan_huyen", "huyen_thanh_pho", "district"), "huyen"),
}



@attrs.frozen
class AudienceRow:
    """One data row: where it came from, the raw phone value and the other fields.

    ``problem`` is set when the row cannot be used as it stands (a line that does not
    decode, more cells than the header); ``problem_code`` is its short code.
    """

    source: str
    line: int
    raw: str
    fields: Mapping[str, str]
    problem: str | None = None
    problem_code: str | None = None


@attrs.define
class AudienceFile:
    """What was learned about one file while reading it (filled in as it is read)."""

    path: Path
    source: str
    encoding: str = "?"
    delimiter: str = ","
    header: tuple[str, ...] = ()
    phone_column: str = ""
    fields: tuple[str, ...] = ()
    has_header: bool = True
    rows: int = 0
    blank_lines: int = 0
    undecodable_lines: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "header": list(self.header),
            "phone_column": self.phone_column,
            "fields": list(self.fields),
            "has_header": self.has_header,
            "rows": self.rows,
            "blank_lines": self.blank_lines,
            "undecodable_lines": self.undecodable_lines,
        }


# --- reading ------------------------------------------------------------------------------


def _unique(keys: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    result = []
    for position, key in enumerate(keys, start=1):
        key = key or f"col{position}"
        if key in seen:
            seen[key] += 1
            key = f"{key}_{seen[key]}"
        else:
            seen[key] = 1
        result.append(key)
    return tuple(result)


def open_audience(
    path: str | Path,
    *,
    encoding: str | None = None,
    fallback_encoding: str = "cp1258",
    delimiter: str | None = None,
    phone_column: str | None = None,
    normalizer: NumberNormalizer | None = None,
    source: str | None = None,
    sheet: str | int | None = None,
) -> tuple[AudienceFile, Iterator[AudienceRow]]:
    """Open one audience file (CSV/TSV, or ``.xlsx`` — first sheet unless ``sheet``):
    read its header now, rows lazily.

    Returns the file's description (encoding, delimiter, header, fields — counts grow
    while rows are read) and the row iterator.  Raises ``DataError`` (naming the file
    and line) when no phone column can be found.  Parsing is ``tabular.read_records``:
    rows it rejects (unclosed quote, undecodable line, oversized field) come out as
    rows with ``problem`` set, so they are quarantined, never lost.
    """
    path = Path(path)
    info = AudienceFile(path=path, source=source or str(path))
    try:
        records = read_records(path, source=info.source, encoding=encoding,
                               fallback_encoding=fallback_encoding, delimiter=delimiter,
                               comments=False, sheet=sheet)
    except DataError as exc:
        if exc.message == "file not found":
            raise DataError("audience file not found", source=info.source) from None
        raise
    info.encoding = records.encoding
    info.delimiter = records.delimiter

    # Header: the first non-blank row.
    first = next(records, None)
    info.encoding, info.delimiter = records.encoding, records.delimiter
    info.blank_lines = records.skipped_lines - records.sep_lines
    if first is None:
        records.close()
        return info, iter(())
    if isinstance(first, RejectedRow):
        records.close()
        raise DataError(f"header: {first.reason}", source=info.source, line=first.line,
                        value=first.raw)
    header_cells = first.cells
    header_start = first.line

    normalizer = normalizer or NumberNormalizer()
    keys = [header_key(c) for c in header_cells]
    phone_index = _phone_index(keys, phone_column, info.source, header_start)
    first_row: Record | None = None
    if phone_index is None:
        # No header? Then a phone number in the first row tells which column it is.
        for index, cell in enumerate(header_cells):
            if normalizer(cell).e164 is not None:
                phone_index = index
                break
        if phone_index is None:
            records.close()
            found = ", ".join(printable(c.strip(), 40) for c in header_cells[:20])
            raise DataError(
                f"no phone column in the header (found: {found}; expected one of sdt, "
                "so_dien_thoai, số điện thoại, phone, msisdn, mobile …, or name it with "
                "--phone-column)",
                source=info.source, line=header_start,
            )
        info.has_header = False
        first_row = first
        keys = [f"col{i}" for i in range(1, len(header_cells) + 1)]
    field_keys = [FIELD_ALIASES.get(k, k) for k in keys]
    field_keys[phone_index] = "\0phone"
    unique = _unique(field_keys)
    info.header = tuple(c.strip() for c in header_cells) if info.has_header else ()
    info.phone_column = header_cells[phone_index].strip() if info.has_header else keys[phone_index]
    width = len(unique)
    records.expected_width = width
    field_pairs = [(i, key) for i, key in enumerate(unique) if i != phone_index]
    info.fields = tuple(k for k in unique if k != "\0phone")
    source_name = info.source

    def make_row(record: Record) -> AudienceRow:
        info.rows += 1
        cells = record.cells
        count = len(cells)
        raw = cells[phone_index].strip() if phone_index < count else ""
        if count >= width:
            fields = {key: cells[i].strip() for i, key in field_pairs}
        else:
            fields = {key: cells[i].strip() for i, key in field_pairs if i < count}
        problem = code = None
        if count > width and any(c.strip() for c in cells[width:]):
            code = "misaligned"
            problem = (f"row has {count} cells but the header has {width} "
                       "(an unquoted delimiter inside a value?)")
        return AudienceRow(source_name, record.line, raw, fields, problem, code)

    def rows() -> Iterator[AudienceRow]:
        try:
            if first_row is not None:
                yield make_row(first_row)
            for item in records:
                if isinstance(item, RejectedRow):
                    if item.code == "undecodable":
                        info.undecodable_lines += 1
                    if item.cells:  # parsed: keep its fields, flag it
                        row = make_row(Record(item.line, item.end_line, list(item.cells),
                                              item.raw))
                        yield attrs.evolve(row, problem=item.reason, problem_code=item.code)
                        continue
                    info.rows += 1
                    yield AudienceRow(source_name, item.line, item.raw, {}, item.reason,
                                      item.code)
                    continue
                yield make_row(item)
        finally:
            records.close()
            info.encoding = records.encoding
            info.blank_lines = records.skipped_lines - records.sep_lines
        if not records.accounted:  # pragma: no cover - a reader bug, not bad input
            raise DataError(f"read {records.physical_lines} lines but accounted for "
                            f"{records.skipped_lines + records.data_lines}", source=source_name)

    return info, rows()


def _phone_index(
    keys: Sequence[str], phone_column: str | None, source: str, line: int
) -> int | None:
    if phone_column is not None:
        wanted = header_key(phone_column)
        for index, key in enumerate(keys):
            if key == wanted:
                return index
        raise DataError(
            f"no column {phone_column!r} in the header (found: {', '.join(keys)})",
            source=source, line=line, column=phone_column,
        )
    for index, key in enumerate(keys):
        if key in PHONE_ALIASES:
            return index
    return None


def read_audience(path: str | Path, **options: Any) -> Iterator[AudienceRow]:
    """Yield the data rows of one audience file (see ``open_audience`` for options)."""
    _, rows = open_audience(path, **options)
    yield from rows


# --- writing ------------------------------------------------------------------------------


@attrs.frozen
class PreparedRow:
    """One row of a prepared audience file."""

    msisdn: str
    carrier_hint: Carrier
    source_file: str
    source_line: int
    fields: Mapping[str, str]


class PreparedWriter:
    """Writes the prepared audience: UTF-8 CSV, header then one row per recipient."""

    def __init__(self, handle: IO[str], fields: Sequence[str]) -> None:
        self.fields = tuple(f for f in fields if f not in PREPARED_COLUMNS)
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow((*PREPARED_COLUMNS, *self.fields))
        self.count = 0

    def write(
        self, msisdn: str, carrier_hint: str, source_file: str, source_line: int,
        fields: Mapping[str, str],
    ) -> None:
        self._writer.writerow(
            [msisdn, carrier_hint, source_file, source_line, *[fields.get(f, "") for f in self.fields]]
        )
        self.count += 1


def write_prepared(path: str | Path, rows: Iterable[PreparedRow], fields: Sequence[str]) -> int:
    """Write ``rows`` to ``path`` (atomically: all or, on an error, nothing); returns how
    many were written."""
    with atomic_output(Path(path)) as handle:
        writer = PreparedWriter(handle, fields)
        for row in rows:
            writer.write(row.msisdn, row.carrier_hint, row.source_file, row.source_line,
                         row.fields)
        return writer.count


def iter_prepared(path: str | Path) -> Iterator[PreparedRow]:
    """Read a prepared audience file back, checking its header and every msisdn."""
    source = str(path)
    try:
        handle = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise DataError(f"cannot read the prepared audience file: {exc.strerror or exc} "
                        "(expected a file written by 'sms prepare')", source=source) from None
    with handle:
        try:
            yield from _prepared_rows(handle, source)
        except UnicodeDecodeError:
            raise DataError("not UTF-8 text (expected a prepared audience file, as "
                            "'sms prepare' writes it)", source=source) from None


def _prepared_rows(handle: IO[str], source: str) -> Iterator[PreparedRow]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None or tuple(header[:4]) != PREPARED_COLUMNS:
        raise DataError(
            f"not a prepared audience file: header must start with "
            f"{','.join(PREPARED_COLUMNS)} (got {','.join(header or [])!r})",
            source=source, line=1,
        )
    extra = header[4:]
    for cells in reader:
        line = reader.line_num
        if len(cells) != len(header):
            raise DataError(f"expected {len(header)} cells, got {len(cells)}",
                            source=source, line=line)
        msisdn = cells[0]
        if not (msisdn.startswith("+84") and msisdn[1:].isdigit()):
            raise DataError("msisdn is not E.164 (+84…)", source=source, line=line,
                            column="msisdn", value=msisdn)
        try:
            carrier = Carrier(cells[1])
            source_line = int(cells[3])
        except ValueError as exc:
            raise DataError(str(exc), source=source, line=line) from None
        yield PreparedRow(msisdn, carrier, cells[2], source_line, dict(zip(extra, cells[4:],
                                                                          strict=True)))


class QuarantineWriter:
    """Writes quarantined rows: file, line, raw value, reason code and reason."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow(QUARANTINE_COLUMNS)
        self.count = 0

    def write(self, source: str, line: int, raw: str, code: str, reason: str) -> None:
        self._writer.writerow((source, line, raw, code, reason))
        self.count += 1


# --- suppression lists --------------------------------------------------------------------


class NumberList:
    """A set of mobile numbers (an opt-out or Do-Not-Call list), kept as integers.

    Read with the same reader as audiences (any encoding, delimiter, header alias, or a
    bare column of numbers).  Entries that are not valid mobile numbers cannot match a
    recipient; they are counted in ``unusable`` (and the first few kept in
    ``unusable_examples``) so the plan can show them.
    """

    def __init__(self, numbers: Iterable[int] = (), *, source: str = "") -> None:
        self._numbers = set(numbers)
        self.source = source
        self.unusable = 0
        self.unusable_examples: list[str] = []

    @classmethod
    def from_file(cls, path: str | Path, *, normalizer: NumberNormalizer | None = None,
                  **options: Any) -> NumberList:
        normalizer = normalizer or NumberNormalizer()
        result = cls(source=str(path))
        for row in read_audience(path, normalizer=normalizer, **options):
            if row.problem is not None:
                result.unusable += 1
                if len(result.unusable_examples) < 5:
                    result.unusable_examples.append(f"line {row.line}: {row.problem}")
                continue
            number = normalizer(row.raw)
            if number.ok and number.e164 is not None:
                result._numbers.add(int(number.e164[3:]))
            else:
                result.unusable += 1
                if len(result.unusable_examples) < 5:
                    result.unusable_examples.append(f"line {row.line}: {row.raw!r} ({number.reason})")
        return result

    @classmethod
    def from_numbers(cls, values: Iterable[str], *, source: str = "") -> NumberList:
        normalizer = NumberNormalizer()
        result = cls(source=source)
        for value in values:
            number = normalizer(value)
            if number.ok and number.e164 is not None:
                result._numbers.add(int(number.e164[3:]))
            else:
                result.unusable += 1
        return result

    def update(self, other: NumberList) -> None:
        """Add every number of ``other`` (and its unusable count)."""
        self._numbers |= other._numbers
        self.unusable += other.unusable
        self.unusable_examples.extend(other.unusable_examples[: 5 - len(self.unusable_examples)])

    def __contains__(self, msisdn: object) -> bool:
        """``"+84912345678" in numbers``: E.164 strings only."""
        if not (isinstance(msisdn, str) and msisdn.startswith("+84")):
            return False
        try:
            return int(msisdn[3:]) in self._numbers
        except ValueError:
            return False

    def on_list(self, msisdns: Sequence[str]) -> list[int]:
        """The indices of the E.164 strings in ``msisdns`` that are on the list (one set
        lookup each; the send engine asks per claimed batch)."""
        numbers = self._numbers
        if not numbers:
            return []
        found = []
        for i, msisdn in enumerate(msisdns):
            if msisdn.startswith("+84"):
                try:
                    if int(msisdn[3:]) in numbers:
                        found.append(i)
                except ValueError:
                    pass
        return found

    def __len__(self) -> int:
        return len(self._numbers)
