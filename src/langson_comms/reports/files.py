"""Writing the report folder: each format a file, each written atomically (temp file in
the folder, renamed into place), never over an input, all or none."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from rich.console import Console

from ..errors import ConfigError
from ..kpi import Measurement
from ..outputs import atomic_output, refuse_inputs
from .html import report_html
from .markdown import report_markdown
from .terminal import print_report
from .views import View
from .workbook import write_report_xlsx

__all__ = ["FORMATS", "SUFFIXES", "report_json", "report_path", "report_text", "write_reports"]

#: format → file suffix
SUFFIXES = {"text": "txt", "md": "md", "html": "html", "json": "json", "xlsx": "xlsx"}
FORMATS = tuple(SUFFIXES)


def report_json(measurement: Measurement) -> str:
    """Every figure as JSON text (``Measurement.as_dict()``, UTF-8, indented)."""
    return json.dumps(measurement.as_dict(), ensure_ascii=False, indent=2) + "\n"


def report_text(measurement: Measurement, view: View | None = None, *, width: int = 120) -> str:
    """The terminal tables as plain text."""
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    print_report(measurement, console, view)
    return console.export_text()


def report_path(out: Path, fmt: str, view: View | None = None) -> Path:
    """``out/report[-<office>[-<district>]].<suffix>``."""
    return out / f"report{(view or View()).slug}.{SUFFIXES[fmt]}"


def write_reports(measurement: Measurement, out: Path, formats: Sequence[str] | str, view: View | None = None,
                  *, inputs: Iterable[tuple[str, Path]] = ()) -> list[Path]:
    """Write the report in each of ``formats`` (``FORMATS``; one format alone is that
    format) into the folder ``out``; returns the paths.

    An unknown format, an ``out`` that is a file and an output that is an input are
    refused (``ConfigError``) before anything is written; a folder that cannot be made
    or written is a ``ConfigError`` keyed ``out`` (the system's reason); the files are renamed into
    place only when every one was written."""
    formats = [formats] if isinstance(formats, str) else list(formats)
    unknown = [fmt for fmt in formats if fmt not in SUFFIXES]
    if unknown:
        raise ConfigError(f"unknown report format {unknown[0]!r} "
                          f"(expected one of {', '.join(FORMATS)})", key="formats")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"the report folder {out} is a file (expected a folder, new or existing)",
                          key="out")
    view = View() if view is None else view
    paths = [report_path(out, fmt, view) for fmt in formats]
    refuse_inputs([(f"report {fmt}", p) for fmt, p in zip(formats, paths, strict=True)], list(inputs))
    try:
        _write_all(measurement, out, formats, paths, view)
    except OSError as error:  # a folder that cannot be made or written: say where and what
        raise ConfigError(f"cannot make the report folder {out} or write into it: "
                          f"{error.strerror or error} (expected a folder that can be created and written)",
                          key="out") from None
    return paths


def _write_all(measurement: Measurement, out: Path, formats: Sequence[str], paths: Sequence[Path],
               view: View) -> None:
    """Every format to its path in ``out``, each by temp file and rename, renamed only when
    all were written."""
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        for fmt, path in zip(formats, paths, strict=True):
            if fmt == "xlsx":
                continue
            if fmt == "json":
                text = report_json(measurement)
            elif fmt == "md":
                text = report_markdown(measurement, view)
            elif fmt == "html":
                text = report_html(measurement, view)
            else:
                text = report_text(measurement, view)
            stack.enter_context(atomic_output(path)).write(text)
        if "xlsx" in formats:
            write_report_xlsx(measurement, paths[list(formats).index("xlsx")], view)
