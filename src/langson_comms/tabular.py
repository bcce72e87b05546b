"""One reader for every table a person hands the SDK (CSV, TSV, ``.xlsx``).

(Over 500 lines on purpose: decoding, quote recovery and line accounting are one
streaming pass over shared state in ``RecordReader``; kept whole so the one place every
input is read stays one place to fix.)

Audiences, DNC/opt-out lists, stations, sketches, as-run confirmations, carrier totals,
teams, regions and policy lists are all read here, so a reader bug is fixed once and
every input gets the fix.  Two layers, both streaming (a million rows in bounded memory):

``read_records(path, ...)`` → ``RecordReader``
    Physical parsing only: yields ``Record(line, end_line, cells, raw)`` and
    ``RejectedRow(line, end_line, raw, reason, code)`` in file order.  Use it when the
    caller has its own idea of a header (the audience reader finds the phone column,
    or reads a file without a header).  Set ``expected_width`` once the header is known
    so unclosed quotes can be told from legitimate multi-line fields.

``read_table(path, *, required=(), optional=(), allow_unknown=False, aliases=None, ...)``
    → ``Table``
    Reads the header now (raising a located ``DataError`` when a required column is
    missing, or an unknown one is present and ``allow_unknown`` is false), rows lazily:
    iterating yields ``TableRow(line, end_line, values, raw)`` — ``values`` maps every
    header name (after ``aliases``) to the stripped cell — and ``RejectedRow`` for rows
    that cannot be used, in file order.  ``Table.raise_rejected()`` turns the rejected rows
    into one ``DataErrors`` listing them all.

What both do, for every input:

* **Encodings** — UTF-8 with or without BOM; UTF-16 with a BOM, or without one
  (recognised by its zero bytes); else the first non-ASCII line decides between UTF-8 and
  ``fallback_encoding`` (``cp1258``, Vietnamese Windows exports; text is NFC-normalised).
  A line with bytes that do not decode rejects *that row* (``code="undecodable"``), never
  the file.  ``encoding=`` forces one.
* **Delimiter** — Excel's ``sep=;`` first line, else ``csv.Sniffer`` among ``, ; TAB |``,
  else the one most frequent in the header; ``delimiter=`` forces one.
* **Quotes** — a quoted field may span lines when its record still has the header's
  number of cells.  A field that opens a quote and never closes it would swallow the
  rest of the file; instead its row is rejected with ``unclosed quote starting at line N``
  (``code="unclosed_quote"``) and reading goes on from the next physical line.  A field
  over the ``csv`` module's size limit is rejected the same way (``field_too_large``).
* **Lines** — ``#`` comment lines (first cell starts with ``#``, when ``comments=True``)
  and blank lines are skipped and counted; CRLF, LF, CR and a missing final newline.
* **Accounting** — after iteration ``physical_lines == skipped_lines + header_lines +
  data_lines``, where data lines are those of yielded rows and rejected rows;
  ``check_accounted()`` raises if not (nothing is lost silently).
* **Spreadsheets** — ``.xlsx``/``.xlsm``/``.xls``/``.ods`` are read with python-calamine:
  the first sheet unless ``sheet=`` (name or 0-based index); line numbers are sheet row
  numbers; numbers that are whole are written without ``.0`` (phone numbers), dates ISO.

``printable(text)`` escapes control characters and undecodable bytes so no error message
prints binary garbage.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import attrs

from .errors import DataError, DataErrors
from .sms.encoding import strip_diacritics

__all__ = [
    "SPREADSHEET_SUFFIXES",
    "Record",
    "RecordReader",
    "RejectedRow",
    "Table",
    "TableRow",
    "header_key",
    "printable",
    "read_records",
    "read_table",
]

SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})

_DELIMITERS = ",;\t|"
_SNIFF_LINES = 20
#: bytes of lines decoded at once (decoding line by line costs ~1 µs a line)
_BLOCK_BYTES = 1 << 20
_NON_WORD = re.compile(r"[^0-9a-z]+")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_BAD_BYTES = "langson-comms-bad-bytes"


def _bad_bytes(error: UnicodeError) -> tuple[str, int]:
    """Decode error handler: each undecodable byte becomes U+DC00+byte (a lone surrogate,
    which valid text never holds), so bad lines can be found and shown as ``\\xNN``."""
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - decode only
        raise error
    bad = error.object[error.start:error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_BAD_BYTES, _bad_bytes)


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe to show: control characters and undecodable bytes escaped, cut at
    ``limit`` characters (``…`` marks the cut)."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if not _UNPRINTABLE.search(text):
        return text

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        code = ord(char)
        if 0xDC00 <= code <= 0xDCFF:  # an undecodable byte (see _bad_bytes)
            return f"\\x{code - 0xDC00:02x}"
        if char == "\ufffd":
            return "\\ufffd"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)


def header_key(name: str) -> str:
    """``"Số điện thoại "`` → ``"so_dien_thoai"``: NFC, no diacritics, lower, ``_``-joined."""
    plain = strip_diacritics(name.replace("\ufeff", "").strip()).lower()
    return _NON_WORD.sub("_", plain).strip("_")


@attrs.frozen
class Record:
    """Cells of one parsed record spanning physical lines ``line``..``end_line``;
    ``text`` is the record as read, ``raw`` the same made printable (one line)."""

    line: int
    end_line: int
    cells: list[str]
    text: str

    @property
    def raw(self) -> str:
        return printable(self.text.rstrip("\r\n"))


@attrs.frozen
class TableRow:
    """One usable data row: ``values`` maps header names to stripped cells; ``text`` is
    the row as read, ``raw`` the same made printable (for messages)."""

    line: int
    end_line: int
    values: dict[str, str]
    text: str

    @property
    def raw(self) -> str:
        return printable(self.text.rstrip("\r\n"))


@attrs.frozen
class RejectedRow:
    """A row that cannot be used, with where and why (``raw`` is printable).

    ``code``: ``unclosed_quote``, ``field_too_large``, ``undecodable``, ``misaligned``
    (cell count differs from the header's), ``bad_row`` (other parse errors).
    """

    line: int
    end_line: int
    raw: str
    reason: str
    code: str = "bad_row"
    column: str | None = None
    #: the parsed cells (printable) when the row parsed but cannot be trusted
    #: (``undecodable``); empty when it did not parse
    cells: tuple[str, ...] = ()

    def error(self, source: str) -> DataError:
        return DataError(self.reason, source=source, line=self.line, column=self.column,
                         value=self.raw)


# --- decoding ------------------------------------------------------------------------------


class _LineDecoder:
    """Decodes byte lines; settles on UTF-8 or the fallback at the first non-ASCII line."""

    def __init__(self, encoding: str | None, fallback: str) -> None:
        self.encoding = encoding  # None until settled
        self.fallback = fallback
        self.bad_lines: set[int] = set()

    @property
    def name(self) -> str:
        return self.encoding or "ascii"

    def decode(self, data: bytes, line_no: int) -> str:
        if self.encoding is None:
            if data.isascii():
                return data.decode("ascii")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                self.encoding = self.fallback
            else:
                self.encoding = "utf-8"
                return unicodedata.normalize("NFC", text)
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError:
            self.bad_lines.add(line_no)
            text = data.decode(self.encoding, errors=_BAD_BYTES)
        return text if text.isascii() else unicodedata.normalize("NFC", text)

    def decode_block(self, data: bytes) -> str | None:
        """Decode many lines at once; ``None`` when they must go line by line."""
        if self.encoding is None:
            return data.decode("ascii") if data.isascii() else None
        try:
            text = data.decode(self.encoding)
        except UnicodeDecodeError:
            return None
        if text.isascii() or unicodedata.is_normalized("NFC", text):
            return text
        return unicodedata.normalize("NFC", text)


def _utf16_of(head: bytes, encoding: str | None) -> str | None:
    if encoding is not None:
        normal = encoding.lower().replace("_", "-")
        return encoding if normal in ("utf-16", "utf-16-le", "utf-16-be", "utf16") else None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return "utf-16-be"
    return None


class _Lines:
    """Decoded physical lines of a text file, numbered from 1 (endings kept)."""

    def __init__(self, path: Path, encoding: str | None, fallback: str) -> None:
        self.path = path
        handle = path.open("rb")
        head = handle.read(4)
        handle.seek(0)
        self.handle = handle
        self.bad_lines: set[int] = set()
        self.count = 0
        self._utf16 = _utf16_of(head, encoding)
        if self._utf16 is None and encoding is None and head.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        self._decoder = _LineDecoder(encoding, fallback) if self._utf16 is None else None
        if self._decoder is not None:
            self.bad_lines = self._decoder.bad_lines

    @property
    def encoding(self) -> str:
        return self._utf16 if self._utf16 is not None else self._decoder.name  # type: ignore[union-attr]

    def __iter__(self) -> Iterator[str]:
        return self._utf16_lines() if self._utf16 is not None else self._byte_lines()

    def close(self) -> None:
        self.handle.close()

    def _utf16_lines(self) -> Iterator[str]:
        text = io.TextIOWrapper(self.handle, encoding=self._utf16 or "utf-16", newline="",
                                errors=_BAD_BYTES)
        with text:
            for line in text:
                self.count += 1
                if _SURROGATE.search(line):
                    self.bad_lines.add(self.count)
                yield line if line.isascii() else unicodedata.normalize("NFC", line)

    def _byte_lines(self) -> Iterator[str]:
        # Physical lines end at LF, CRLF or a lone CR; a block that fails to decode is
        # redone line by line so only the bad line is flagged.
        decoder = self._decoder
        assert decoder is not None
        with self.handle as handle:
            while block := handle.readlines(_BLOCK_BYTES):
                if self.count == 0 and block[0].startswith(codecs.BOM_UTF8):
                    block[0] = block[0][len(codecs.BOM_UTF8):]
                text = decoder.decode_block(b"".join(block))
                if text is not None:
                    for line in io.StringIO(text, newline=""):
                        self.count += 1
                        yield line
                    continue
                for data in block:
                    for line in io.StringIO(decoder.decode(data, self.count + 1), newline=""):
                        self.count += 1
                        yield line


def _sniff(lines: Sequence[str]) -> str:
    header = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    sample = "".join(ln for ln in lines if not ln.lstrip().startswith("#"))
    try:
        found = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- records -------------------------------------------------------------------------------


def _blank(cells: Sequence[str]) -> bool:
    return not any(c.strip() for c in cells)


def _width(cells: Sequence[str]) -> int:
    """Cells up to the last non-empty one (trailing empty cells are Excel's habit)."""
    count = len(cells)
    while count and not cells[count - 1].strip():
        count -= 1
    return count


class RecordReader:
    """Iterates a file's records (see the module docstring); counts as it goes.

    Attributes after (or during) iteration: ``encoding``, ``delimiter``,
    ``physical_lines``, ``skipped_lines`` (blank and comment lines), ``data_lines``,
    ``records``, ``rejected``, ``sep_lines``.  ``expected_width`` (settable) is the header's cell count.
    """

    def __init__(
        self,
        path: Path,
        *,
        source: str,
        encoding: str | None,
        fallback_encoding: str,
        delimiter: str | None,
        comments: bool,
        sheet: str | int | None,
    ) -> None:
        self.path = path
        self.source = source
        self.comments = comments
        self.expected_width: int | None = None
        self._sheet_rows = 0
        self.skipped_lines = 0
        self.data_lines = 0
        self.records = 0
        self.rejected = 0
        self.sep_lines = 0  # Excel's "sep=;" line (counted in skipped_lines)
        self.delimiter = ""
        self._lines: _Lines | None = None
        self._spreadsheet = path.suffix.lower() in SPREADSHEET_SUFFIXES
        if self._spreadsheet:
            self._iter: Iterator[Record | RejectedRow] = self._sheet_records(sheet)
        else:
            self._lines = _Lines(path, encoding, fallback_encoding)
            self._iter = self._csv_records(delimiter)

    def __iter__(self) -> Iterator[Record | RejectedRow]:
        return self._iter

    def __next__(self) -> Record | RejectedRow:
        return next(self._iter)

    @property
    def encoding(self) -> str:
        """The encoding read (``xlsx`` for spreadsheets); settled at the first non-ASCII
        line, so it may change from ``ascii`` while reading."""
        return self._lines.encoding if self._lines is not None else "xlsx"

    @property
    def physical_lines(self) -> int:
        """Lines (sheet rows) read from the file so far, counted as they are read."""
        return self._lines.count if self._lines is not None else self._sheet_rows

    def close(self) -> None:
        if self._lines is not None:
            self._lines.close()

    @property
    def accounted(self) -> bool:
        """Every physical line read is a skipped line or part of a record."""
        return self.physical_lines == self.skipped_lines + self.data_lines

    # -- spreadsheets --

    def _sheet_records(self, sheet: str | int | None) -> Iterator[Record | RejectedRow]:
        from python_calamine import CalamineError, CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(self.path))
            if isinstance(sheet, str):
                found = book.get_sheet_by_name(sheet)
            else:
                found = book.get_sheet_by_index(sheet or 0)
        except (CalamineError, OSError, ValueError, IndexError, KeyError) as exc:
            names = ""
            try:
                names = f" (sheets: {', '.join(book.sheet_names)})"
            except NameError:
                pass
            raise DataError(f"cannot read the spreadsheet: {printable(str(exc))}{names}",
                            source=self.source) from None
        self.delimiter = ""
        for number, values in enumerate(found.iter_rows(), start=1):
            self._sheet_rows += 1
            cells = [_cell_text(v) for v in values]
            if _blank(cells) or (self.comments and self._comment(cells)):
                self.skipped_lines += 1
                continue
            self.data_lines += 1
            self.records += 1
            yield Record(number, number, cells, ",".join(cells))

    def _comment(self, cells: list[str]) -> bool:
        """A ``#`` line is a comment before the header; after it, only when it has not the
        header's number of cells (``#1001,install`` is an order id, not a comment), or in a
        one-column file (where a note and a value cannot be told apart by their cells)."""
        width = self.expected_width
        return cells[0].lstrip().startswith("#") and (width in (None, 1) or len(cells) != width)

    # -- delimited text --

    def _csv_records(self, delimiter: str | None) -> Iterator[Record | RejectedRow]:
        assert self._lines is not None
        source_lines = iter(self._lines)
        buffered: list[str] = []
        for text in source_lines:
            buffered.append(text)
            if len(buffered) >= _SNIFF_LINES:
                break
        first = buffered[0].strip() if buffered else ""
        number = 0  # the last physical line given to csv
        if delimiter is None and first.lower().startswith("sep=") and len(first) == 5:
            delimiter = first[4]
            self.skipped_lines += 1
            self.sep_lines = 1
            buffered = buffered[1:]
            number = 1
        if delimiter is None:
            delimiter = _sniff(buffered)
        self.delimiter = delimiter

        # Lines are numbered by counting what csv takes: lines pushed back after an
        # unclosed quote are consecutive and come first, so the count stays right.
        pending: list[str] = buffered[::-1]  # a stack: the next line on top
        current: list[str] = []
        bad = self._lines.bad_lines
        comments = self.comments

        def feed() -> Iterator[str]:
            while pending:
                text = pending.pop()
                current.append(text)
                yield text
            for text in source_lines:
                current.append(text)
                yield text

        def new_reader() -> Iterator[list[str]]:
            return csv.reader(feed(), delimiter=delimiter, skipinitialspace=True,
                              strict=False)

        reader = new_reader()
        while True:
            error: str | None = None
            code = "bad_row"
            try:
                cells = next(reader)
            except StopIteration:
                if not current:
                    return
                cells, error = [], "unexpected end of file"
            except csv.Error as exc:
                cells = []
                if "field larger" in str(exc):
                    code = "field_too_large"
                    error = f"a field is longer than {csv.field_size_limit()} characters"
                else:
                    error = f"cannot parse: {printable(str(exc))}"
            count = len(current)
            if not count:  # pragma: no cover - csv yields nothing without reading a line
                continue
            first_no = number + 1
            number += count
            head = current[0]
            if count == 1 and error is None and '"' not in head:
                # the common case: one line, no quote
                current.clear()
                c0 = cells[0] if cells else ""
                if not c0 or c0[0] in " \t#":
                    if _blank(cells) or (comments and self._comment(cells)):
                        self.skipped_lines += 1
                        continue
                if bad and first_no in bad:
                    self._count_rejected(1)
                    yield self._undecodable(first_no, first_no, [head], cells, first_no)
                    continue
                self.data_lines += 1
                self.records += 1
                yield Record(first_no, first_no, cells, head)
                continue
            lines = current[:]
            current.clear()
            last_no = number
            multi = count > 1
            if error is None:
                error = self._quote_problem(lines, cells, delimiter)
                if error is not None:
                    multi = True  # reject the opening line only, read on from the next
            if multi and (error is not None or self._wrong_width(cells)
                          or self._swallowed(lines, cells, delimiter)):
                # An opened quote that swallowed later lines: reject its first line only,
                # and read the rest again (a new reader: the old one may have seen the end).
                pending.extend(reversed(lines[1:]))
                number = first_no
                self._count_rejected(1)
                yield RejectedRow(first_no, first_no, _raw(lines[:1]),
                                  f"unclosed quote starting at line {first_no}",
                                  "unclosed_quote")
                reader = new_reader()
                continue
            if error is not None:
                self._count_rejected(count)
                yield RejectedRow(first_no, last_no, _raw(lines), error, code)
                continue
            if _blank(cells) or (comments and self._comment(cells)):
                self.skipped_lines += count
                continue
            bad_line = next((n for n in range(first_no, last_no + 1) if n in bad), None)
            if bad_line is not None:
                self._count_rejected(count)
                yield self._undecodable(first_no, last_no, lines, cells, bad_line)
                continue
            self.data_lines += count
            self.records += 1
            yield Record(first_no, last_no, cells, "".join(lines))

    def _undecodable(self, first: int, last: int, lines: Sequence[str], cells: Sequence[str],
                     bad_line: int) -> RejectedRow:
        return RejectedRow(
            first, last, _raw(lines),
            f"line {bad_line} is not valid {self.encoding} text "
            "(undecodable bytes shown as \\xNN)", "undecodable",
            cells=tuple(printable(c) for c in cells))

    @staticmethod
    def _quote_problem(lines: Sequence[str], cells: Sequence[str],
                       delimiter: str) -> str | None:
        """Re-parse strictly: a quote still open at the end, or (across lines) a closing
        quote followed by text, means the quote was never closed where it should be."""
        text = "".join(lines)
        try:
            again = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                    skipinitialspace=True, strict=True))
        except csv.Error as exc:
            if len(lines) > 1 or "end of data" in str(exc):
                return "unclosed quote"
            return None
        return None if again == [list(cells)] or len(lines) == 1 else "unclosed quote"

    def _swallowed(self, lines: Sequence[str], cells: Sequence[str], delimiter: str) -> bool:
        """A line inside a quoted field that looks like a whole row of its own: exactly
        the header's number of cells (3 or more), no quote; or a line of a multi-line
        value holding a whole row's delimiters (``"Nguyen,0911…,Xa`` closed on the next
        row: the record has the header's cells, but a row hides in one value).  A third
        line of defence: the strict re-parse already catches most swallowing quotes."""
        width = self.expected_width
        if width is None or width < 3:
            return False
        if any(t.count(delimiter) == width - 1 and '"' not in t for t in lines[1:-1]):
            return True
        return any(piece.count(delimiter) >= width - 1
                   for cell in cells if "\n" in cell or "\r" in cell
                   for piece in cell.splitlines())

    def _wrong_width(self, cells: Sequence[str]) -> bool:
        expected = self.expected_width
        return expected is not None and not (_width(cells) <= expected <= len(cells)
                                             or len(cells) == expected)

    def _count_rejected(self, lines: int) -> None:
        self.rejected += 1
        self.data_lines += lines


def _raw(lines: Sequence[str]) -> str:
    return printable("".join(lines).rstrip("\r\n"))


def _cell_text(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return "" if value is None else str(value).strip("\ufeff")


def _open_check(path: Path, source: str, encoding: str | None, fallback: str) -> None:
    try:
        codecs.lookup(fallback)
        if encoding is not None:
            codecs.lookup(encoding)
    except LookupError as exc:
        raise DataError(f"unknown encoding: {exc}", source=source) from None
    if not path.is_file():
        raise DataError("file not found", source=source)


def read_records(
    path: str | Path,
    *,
    source: str | None = None,
    encoding: str | None = None,
    fallback_encoding: str = "cp1258",
    delimiter: str | None = None,
    comments: bool = True,
    sheet: str | int | None = None,
) -> RecordReader:
    """Open ``path`` for record-level reading (see ``RecordReader``).

    Raises ``DataError`` naming the file when it does not exist, cannot be opened as a
    spreadsheet, or ``encoding`` is unknown.
    """
    path = Path(path)
    name = source or str(path)
    _open_check(path, name, encoding, fallback_encoding)
    try:
        return RecordReader(path, source=name, encoding=encoding,
                            fallback_encoding=fallback_encoding, delimiter=delimiter,
                            comments=comments, sheet=sheet)
    except OSError as exc:
        raise DataError(f"cannot open: {exc.strerror or exc}", source=name) from None


# --- tables --------------------------------------------------------------------------------


class Table:
    """A table with a header: iterate for ``TableRow``/``RejectedRow`` in file order.

    Use it as a context manager (``with read_table(...) as table:``) to close the file
    when reading stops early.

    ``header`` (names after aliases), ``header_line``, ``source``, ``encoding``,
    ``delimiter`` are known at once; the counts ``physical_lines``, ``skipped_lines``,
    ``data_lines``, ``rows``, ``rejected`` grow while reading.
    """

    def __init__(self, records: RecordReader, header: tuple[str, ...], header_line: int,
                 header_lines: int) -> None:
        self._records = records
        self.source = records.source
        self.header = header
        self.header_line = header_line
        self.header_lines = header_lines
        self.rows = 0
        records.expected_width = len(header)

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (iterating to the end closes it too)."""
        self._records.close()

    @property
    def encoding(self) -> str:
        return self._records.encoding

    @property
    def delimiter(self) -> str:
        return self._records.delimiter

    @property
    def physical_lines(self) -> int:
        return self._records.physical_lines

    @property
    def skipped_lines(self) -> int:
        return self._records.skipped_lines

    @property
    def data_lines(self) -> int:
        return self._records.data_lines - self.header_lines

    @property
    def rejected(self) -> int:
        return self._records.rejected

    def check_accounted(self) -> None:
        """Raise ``DataError`` if some physical line is neither skipped, header nor data."""
        if not self._records.accounted:  # pragma: no cover - a reader bug, not bad input
            raise DataError(
                f"read {self.physical_lines} lines but accounted for "
                f"{self.skipped_lines + self.header_lines + self.data_lines}",
                source=self.source)

    def __iter__(self) -> Iterator[TableRow | RejectedRow]:
        header = self.header
        width = len(header)
        try:
            for item in self._records:
                if isinstance(item, RejectedRow):
                    yield item
                    continue
                cells = item.cells
                if len(cells) != width and not _width(cells) <= width <= len(cells):
                    self._records.records -= 1
                    self._records.rejected += 1
                    yield RejectedRow(
                        item.line, item.end_line, item.raw,
                        f"{len(cells)} cells, but the header on line {self.header_line} "
                        f"has {width}", "misaligned")
                    continue
                self.rows += 1
                yield TableRow(item.line, item.end_line,
                               {name: cells[i].strip() for i, name in enumerate(header)},
                               item.text)
        finally:
            self._records.close()
        self.check_accounted()

    def valid_rows(self) -> Iterator[TableRow]:
        """Every usable row; after the last, one ``DataErrors`` listing every rejected row
        (all the file's problems together), if there were any."""
        problems: list[DataError] = []
        for item in self:
            if isinstance(item, RejectedRow):
                problems.append(item.error(self.source))
            else:
                yield item
        if problems:
            raise DataErrors(problems)


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    allow_unknown: bool = False,
    aliases: Mapping[str, str] | Callable[[str], str] | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    fallback_encoding: str = "cp1258",
    sheet: str | int | None = None,
    source: str | None = None,
    comments: bool = True,
) -> Table:
    """Open a table and read its header (see the module docstring).

    The header is the first row that is not blank or a comment; each name is stripped
    and mapped through ``aliases`` (a mapping looked up by the name, then by its
    ``header_key``; or a function).  Raises ``DataError`` at the header line when a
    ``required`` column is missing, or a column is neither required nor optional and
    ``allow_unknown`` is false; ``DataError`` without a line when there is no header.
    """
    records = read_records(path, source=source, encoding=encoding,
                           fallback_encoding=fallback_encoding, delimiter=delimiter,
                           comments=comments, sheet=sheet)
    expected = ",".join([*required, *optional])
    header_record: Record | None = None
    header_lines = 0
    try:
        for item in records:
            if isinstance(item, RejectedRow):
                raise DataError(f"header: {item.reason}", source=records.source,
                                line=item.line, value=item.raw)
            header_record = item
            header_lines = item.end_line - item.line + 1
            break
    except BaseException:
        records.close()
        raise
    if header_record is None:
        records.close()
        raise DataError("no header row" + (f" (expected {expected})" if expected else ""),
                        source=records.source)
    names = tuple(_alias(c.replace("\ufeff", "").strip(), aliases)
                  for c in header_record.cells[: _width(header_record.cells)])
    line = header_record.line
    problem: str | None = None
    missing = [c for c in required if c not in names]
    unknown = [c for c in names if c not in required and c not in optional]
    if missing:
        problem = f"missing column(s) {', '.join(missing)} (expected {expected})"
    elif unknown and not allow_unknown:
        problem = f"unknown column(s) {', '.join(printable(u) for u in unknown)} (expected {expected})"
    else:
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problem = f"column(s) {', '.join(twice)} appear more than once"
    if problem is not None:
        records.close()
        raise DataError(problem, source=records.source, line=line)
    return Table(records, names, line, header_lines)


def _alias(name: str, aliases: Mapping[str, str] | Callable[[str], str] | None) -> str:
    if aliases is None:
        return name
    if callable(aliases):
        return aliases(name)
    found = aliases.get(name)
    if found is None:
        found = aliases.get(header_key(name))
    return found if found is not None else name

