"""Writing output files safely: never over an input, never half-written.

``atomic_output(path)`` opens a temporary file in the target's folder; on success it is
flushed, synced and renamed over ``path`` (``os.replace``, atomic on one file system), on
any exception it is removed, so a failed run leaves the old file (or none), never a
partial one.  Several outputs that belong together are opened in one
``contextlib.ExitStack``: an exception discards them all.

``refuse_inputs(outputs, inputs)`` resolves every path (symbolic links) and compares
files that exist by device and inode (hard links, ``os.path.samefile``); an output that
is an input, or two outputs that are one file, is a ``ConfigError`` naming both.
``campaign_inputs(path)`` lists a campaign file and every existing file it names.

``people_csv_output(path)`` is ``atomic_output`` for a CSV file meant for people
(run-sheets, leaderboards, ``sms prepare``'s quarantine and excluded files): it starts
with a UTF-8 byte-order mark, without which Excel reads UTF-8 as the local code page and
garbles Vietnamese.  Files read by programs (``prepared.csv``, JSON, Markdown, HTML)
are written without one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from .errors import OutputClashError

__all__ = [
    "atomic_bytes_output", "atomic_output", "campaign_inputs", "people_csv_output", "refuse_inputs", "same_file",
]

#: what a CSV file meant for people starts with: Excel opens it as UTF-8 only then
BOM = "\ufeff"

#: (label, path): the label says where the path came from, e.g. ``audience``
Named = tuple[str, Path]


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: same resolved path, or same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): it cannot be a hard link
        return False


def _identity(path: Path) -> tuple[Path, tuple[int, int] | None]:
    """The resolved path and, for a file that exists, its (device, inode)."""
    try:
        st = os.stat(path)
        inode: tuple[int, int] | None = (st.st_dev, st.st_ino)
    except OSError:  # it does not exist (yet): it cannot be a hard link
        inode = None
    return path.resolve(), inode


def refuse_inputs(outputs: Iterable[Named], inputs: Iterable[Named]) -> None:
    """``ConfigError`` if an output is one of the inputs, or two outputs are one file.

    Each path is resolved and stat'ed once and looked up by resolved path and by inode
    (``same_file`` on every pair took seconds for an export's ~600 files)."""
    read: dict[object, tuple[int, Named]] = {}
    for n, named in enumerate(inputs):
        resolved, inode = _identity(named[1])
        for key in (resolved, inode):
            if key is not None:
                read.setdefault(key, (n, named))
    written: dict[object, tuple[int, Named]] = {}
    for i, (label, path) in enumerate(outputs):
        resolved, inode = _identity(path)
        keys = [k for k in (resolved, inode) if k is not None]
        inputs_hit = sorted(read[k] for k in keys if k in read)
        if inputs_hit:
            raise OutputClashError((label, path), inputs_hit[0][1], is_input=True)
        outputs_hit = sorted(written[k] for k in keys if k in written)
        if outputs_hit:
            raise OutputClashError((label, path), outputs_hit[0][1], is_input=False)
        for key in keys:
            written.setdefault(key, (i, (label, path)))


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def atomic_output(path: Path, *, permissions: int | None = None
                  ) -> contextlib.AbstractContextManager[IO[str]]:
    """Write ``path`` through a temporary file renamed into place on success.

    Text mode, UTF-8 with ``newline=""`` (the csv module's own line ends).  The file gets
    ``permissions``, or those of the file it replaces, or what ``open()`` would give
    (0o666 less the umask).  The folder is created if missing.
    """
    return cast("contextlib.AbstractContextManager[IO[str]]", _atomic(path, False, permissions))


@contextlib.contextmanager
def people_csv_output(path: Path, *, permissions: int | None = None) -> Iterator[IO[str]]:
    """``atomic_output`` for a CSV file people open in Excel: UTF-8 with a byte-order mark.

    Readers of the SDK (``tabular``, ``utf-8-sig``) take the mark in their stride.
    """
    with atomic_output(path, permissions=permissions) as handle:
        handle.write(BOM)
        yield handle


def atomic_bytes_output(path: Path, *, permissions: int | None = None
                        ) -> contextlib.AbstractContextManager[IO[bytes]]:
    """``atomic_output`` in binary mode."""
    return cast("contextlib.AbstractContextManager[IO[bytes]]", _atomic(path, True, permissions))


@contextlib.contextmanager
def _atomic(path: Path, binary: bool, permissions: int | None) -> Iterator[IO[str] | IO[bytes]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if permissions is None:
        try:
            permissions = path.stat().st_mode & 0o777
        except FileNotFoundError:
            permissions = 0o666 & ~_umask()
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        handle: IO[str] | IO[bytes] = (os.fdopen(fd, "wb") if binary
                                       else os.fdopen(fd, "w", encoding="utf-8", newline=""))
    except BaseException:
        os.close(fd)
        os.unlink(temp)
        raise
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, permissions)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def campaign_inputs(campaign_path: Path) -> list[tuple[str, Path]]:
    """The campaign file and every existing file its values name (relative to its folder)."""
    found: list[tuple[str, Path]] = [("campaign file", campaign_path)]
    try:
        data = tomllib.loads(campaign_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return found  # loading the campaign has already said what is wrong

    stack: list[tuple[str, Any]] = [("", data)]
    while stack:  # no recursion: a deeply nested file is not a RecursionError here
        key, value = stack.pop()
        if isinstance(value, dict):
            stack += [(f"{key}.{k}" if key else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(f"{key}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, str) and value and "\n" not in value and len(value) < 4096:
            path = campaign_path.parent / value
            try:
                if path.is_file():
                    found.append((f"{campaign_path.name}: {key}", path))
            except (OSError, ValueError):  # not a possible file name
                pass
    return found
