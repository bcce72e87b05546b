"""The built-in ``file`` sign-up source: CSV and spreadsheet exports of the platforms.

Written as a third party would write a source: it subclasses the public
``SignupSource``, reads with the public ``langson_comms.tabular`` reader, and registers
through ``register_signup_sources``.

A ``[signups.<key>]`` table of kind ``file``::

    [signups.mbbank]
    kind = "file"
    platform = "mbbank"
    files = ["exports/mbbank-*.xlsx"]      # relative to the campaign file; globs allowed
    default_kind = "account_opened"       # when the export has no kind column
    columns = { external_id = "Mã giao dịch", occurred_at = "Ngày mở", phone = "SĐT" }

Columns are the event's field names by default (``external_id``, ``kind``,
``occurred_at``, ``phone``, ``commune_code``, ``team_code``; headers are compared
without case, accents or punctuation); ``columns`` maps a field to the platform's own
header.  Other columns are ignored.  Every bad row becomes a rejection at
``file:line`` naming the column and what was expected; the good rows go on.

The position is, per file, the last physical line stored and a fingerprint of the
file's first bytes (up to 4 KiB): a file that grew is read on from where it stopped, a
replaced one from the top (its events already stored count as duplicates).  When a
text file's last line had no line break (the exporter was still writing), that line is
read again once the file has grown.
"""

from __future__ import annotations

import glob
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import attrs

from langson_comms import hookimpl
from langson_comms.clock import Clock
from langson_comms.config import NOT_A_KEY, ConfigContext, at_least, config_keys
from langson_comms.errors import DataError
from langson_comms.signups import (
    Batch,
    Rejection,
    SignupEvent,
    SignupSource,
    parse_occurred_at,
    source_key,
)
from langson_comms.signups.event import kind_name
from langson_comms.sms.numbers import NumberNormalizer
from langson_comms.tabular import RejectedRow, header_key, read_table

__all__ = ["FIELDS", "FileSource", "register_signup_sources"]

#: the event fields a file may hold, in the default column names
FIELDS = ("external_id", "kind", "occurred_at", "phone", "commune_code", "team_code")
_HEAD_BYTES = 4096


def _fingerprint(path: Path, size: int = _HEAD_BYTES) -> str:
    """``<bytes hashed>:<sha256 prefix>`` of the file's first ``size`` bytes (fewer if shorter)."""
    with path.open("rb") as handle:
        head = handle.read(size)
    return f"{len(head)}:{hashlib.sha256(head).hexdigest()[:16]}"


_SPREADSHEETS = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})


def _ends_mid_line(path: Path) -> bool:
    """Whether a text export's last line has no line break (the exporter may still be writing)."""
    if path.suffix.lower() in _SPREADSHEETS:
        return False
    with path.open("rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return False
        handle.seek(max(0, handle.tell() - 2))
        tail = handle.read()
    return not tail.endswith((b"\n", b"\r", b"\n\x00", b"\r\x00"))  # UTF-16-LE too


def _same_file(path: Path, fingerprint: object) -> bool:
    """Whether ``path`` still starts with the bytes ``fingerprint`` was taken of (it may have grown)."""
    if not isinstance(fingerprint, str) or ":" not in fingerprint:
        return False
    size = fingerprint.split(":", 1)[0]
    return size.isdigit() and _fingerprint(path, int(size)) == fingerprint


@attrs.frozen
class FileSource(SignupSource):
    """Sign-ups from CSV/TSV/.xlsx exports (see the module docstring for the keys)."""

    name: ClassVar[str] = "file"

    files: list[str] = attrs.field(factory=list)
    columns: dict[str, str] = attrs.field(factory=dict)
    default_kind: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    batch_size: int = attrs.field(default=5000, validator=at_least(1))
    #: the campaign file's folder, for relative paths (set by from_config, not a key)
    base_dir: str = attrs.field(default=".", kw_only=True, metadata={NOT_A_KEY: True})

    @classmethod
    def from_config(cls, config: Mapping[str, Any], context: ConfigContext) -> Self:
        for forbidden in ("key", "base_dir"):
            if forbidden in config:
                raise context.error(f"unknown key (expected one of: {', '.join(config_keys(cls))})", forbidden)
        built = context.structure({**config, "key": source_key(context)}, cls)
        for field in built.columns:
            if field not in FIELDS:
                raise context.error(f"{field!r} is not an event field (expected one of: {', '.join(FIELDS)})",
                                    f"columns.{field}")
        if built.default_kind is not None:
            try:
                kind_name(built.default_kind)
            except ValueError as exc:
                raise context.error(str(exc), "default_kind") from None
        if not built.files:
            raise context.error("no files (expected files = [\"export.csv\", …])", "files")
        return attrs.evolve(built, base_dir=str(context.base_dir))

    def with_inputs(self, paths: Sequence[Path]) -> Self:
        return attrs.evolve(self, files=[str(Path(p).resolve()) for p in paths])

    # -- reading ---------------------------------------------------------------------------

    def paths(self) -> list[tuple[str, Path]]:
        """``(shown name, path)`` of every file, globs expanded in sorted order."""
        found: list[tuple[str, Path]] = []
        base = Path(self.base_dir)
        for entry in self.files:
            path = Path(entry) if Path(entry).is_absolute() else base / entry
            if glob.has_magic(entry):
                matches = sorted(glob.glob(str(path)))
                if not matches:
                    raise DataError(f"no file matches {entry!r}", source=f"signups.{self.key}.files")
                found.extend((str(Path(m).relative_to(base)) if not Path(entry).is_absolute() else m, Path(m))
                             for m in matches)
            else:
                found.append((entry, path))
        return found

    def read(self, position: str | None, *, clock: Clock) -> Iterator[Batch]:
        state: dict[str, dict[str, Any]] = json.loads(position)["files"] if position else {}
        normalizer = NumberNormalizer()
        for shown, path in self.paths():
            if not path.is_file():
                raise DataError("file not found", source=shown)
            ident = str(path.resolve())
            done = state.get(ident, {})
            skip_to = int(done.get("line", 0)) if _same_file(path, done.get("head")) else 0
            size = path.stat().st_size
            partial = done.get("partial") if skip_to else None
            if isinstance(partial, dict) and size > int(partial.get("size", size)):
                # the last read ended in a line without a line break and the file grew
                # since: that line was being written, read it again complete
                skip_to = min(skip_to, int(partial.get("from", skip_to)))
                partial = None
            state[ident] = {"line": skip_to, "head": _fingerprint(path)}
            if partial is not None:
                state[ident]["partial"] = partial
            yield from self._read_file(shown, path, ident, skip_to, state, normalizer, size)

    def _aliases(self, originals: dict[str, str]) -> Callable[[str], str]:
        wanted = {header_key(header): field for field, header in self.columns.items()}
        plain = {header_key(f): f for f in FIELDS if f not in self.columns}

        def alias(name: str) -> str:
            key = header_key(name)
            field = wanted.get(key) or plain.get(key) or name
            originals.setdefault(field, name)
            return field

        return alias

    def _read_file(self, shown: str, path: Path, ident: str, skip_to: int,
                   state: dict[str, dict[str, Any]], normalizer: NumberNormalizer,
                   size: int) -> Iterator[Batch]:
        originals: dict[str, str] = {}
        required = ["external_id", "occurred_at"] + ([] if self.default_kind else ["kind"])
        table = read_table(path, required=required, optional=[f for f in FIELDS if f not in required],
                           allow_unknown=True, aliases=self._aliases(originals), delimiter=self.delimiter,
                           encoding=self.encoding, sheet=self.sheet, source=shown)
        column = {field: originals.get(field, field) for field in FIELDS}
        has = {f: f in table.header for f in FIELDS}
        platform, key, default_kind = self.platform, self.key, self.default_kind
        events: list[SignupEvent] = []
        rejections: list[Rejection] = []
        last = skip_to
        last_start = skip_to  # the line before the last item read

        def batch() -> Batch:
            state[ident] = {**state[ident], "line": last}
            made = Batch(events=tuple(events), rejections=tuple(rejections),
                         position=json.dumps({"files": state}, sort_keys=True))
            events.clear()
            rejections.clear()
            return made

        for item in table:
            if item.end_line <= skip_to:
                continue
            last, last_start = item.end_line, item.line - 1
            where = f"{shown}:{item.line}"
            if isinstance(item, RejectedRow):
                rejections.append(Rejection(where=where, reason=item.reason, column=item.column))
            else:
                values = item.values
                event_or_problem = _event(values, has, default_kind, platform, f"{key}:{where}", normalizer)
                if isinstance(event_or_problem, SignupEvent):
                    events.append(event_or_problem)
                else:
                    field, reason = event_or_problem
                    rejections.append(Rejection(where=where, reason=reason, column=column[field]))
            if len(events) + len(rejections) >= self.batch_size:
                yield batch()
        if last > skip_to:
            state[ident].pop("partial", None)
            if _ends_mid_line(path):
                state[ident]["partial"] = {"from": last_start, "size": size}
        yield batch()


def _event(values: Mapping[str, str], has: Mapping[str, bool], default_kind: str | None, platform: str,
           source: str, normalizer: NumberNormalizer) -> SignupEvent | tuple[str, str]:
    """The row's event, or ``(field, reason)`` for the first bad field (never showing a number)."""
    phone: str | None = None
    if has["phone"]:
        raw = values["phone"]
        if raw:
            result = normalizer.normalize(raw)
            if not result.ok:
                return "phone", f"not a usable mobile number ({result.code or result.kind.value})"
            phone = result.e164
    kind = (values["kind"] if has["kind"] else "") or default_kind or ""
    try:
        occurred = parse_occurred_at(values["occurred_at"])
    except ValueError as exc:
        return "occurred_at", str(exc)
    try:
        return SignupEvent(
            platform=platform, kind=kind, external_id=values["external_id"], occurred_at=occurred,
            phone=phone, commune_code=values["commune_code"] if has["commune_code"] else None,
            team_code=values["team_code"] if has["team_code"] else None, source=source,
        )
    except ValueError as exc:
        text = str(exc)
        if "external_id" in text:
            return "external_id", text
        if "kind" in text:
            return "kind", text if kind else "kind is empty (expected install, account_opened, "\
                "first_purchase, seller_registered, or set default_kind)"
        return "commune_code", text


@hookimpl
def register_signup_sources() -> list[type[Any]]:
    return [FileSource]
