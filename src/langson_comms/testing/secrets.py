"""Checking that a credential leaks nowhere: logs at DEBUG, printed output, the ledger,
status and reports (issue 15, item 4).  For every gateway plugin's tests::

    from langson_comms.testing.secrets import assert_no_secret_leaks, debug_logs

    def test_my_gateway_keeps_its_secret(tmp_path, monkeypatch):
        monkeypatch.setenv("MY_API_KEY", "s3cr3t-Key-123")
        with debug_logs() as logs:
            ...  # send through the gateway (``send_sms``, the engine, or the CLI)
        assert_no_secret_leaks("s3cr3t-Key-123", logs.text + printed, [tmp_path])

or, for a whole campaign, ``check_send_keeps_secret(campaign_file, secret, audience)``,
which sends with every logger at DEBUG, reads ``sms status``, and checks both and the
files under the campaign's folder.

A secret is looked for as written and in the forms it travels in: URL-encoded, in
base64 (an ``Authorization: Basic`` header), JSON-escaped, and as UTF-16 (files only).
The failure names the place and the form, never the secret.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, quote_plus

import attrs

__all__ = ["CapturedLogs", "SecretCheck", "assert_no_secret_leaks", "check_send_keeps_secret",
           "debug_logs", "secret_forms"]

#: shorter secrets would be found by chance (and a test with one proves nothing)
MIN_SECRET_LENGTH = 6


def secret_forms(secret: str) -> dict[str, str]:
    """``secret`` as written and in the forms it travels in, by name."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"a test secret needs at least {MIN_SECRET_LENGTH} characters "
                         "(a shorter one may appear by chance)")
    forms = {"as written": secret, "URL-encoded": quote(secret, safe=""),
             "form-encoded": quote_plus(secret),
             "base64": base64.b64encode(secret.encode()).decode().rstrip("="),
             "JSON-escaped": json.dumps(secret)[1:-1]}
    unique: dict[str, str] = {}
    for name, form in forms.items():
        if form not in unique.values():
            unique[name] = form
    return unique


def _files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.exists():
            yield path


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    return f"line {line}"


def assert_no_secret_leaks(secret: str, captured_text: str = "",
                           paths: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Fail when ``secret`` (in any of ``secret_forms``) is in ``captured_text`` (logs,
    printed output, JSON) or in a file of ``paths`` (folders are walked: a SQLite file
    and its ``-wal`` sidecar are read as bytes).  The message names where, not the
    secret."""
    found: list[str] = []
    forms = secret_forms(secret)
    for name, form in forms.items():
        pos = captured_text.find(form)
        if pos >= 0:
            found.append(f"the captured output, {_where(captured_text, pos)} ({name})")
    encoded = {name: form.encode() for name, form in forms.items()}
    encoded["UTF-16"] = secret.encode("utf-16-le")
    for file in _files(paths):
        data = file.read_bytes()
        for name, raw in encoded.items():
            at = data.find(raw)
            if at >= 0:
                found.append(f"{file}, byte {at} ({name})")
    if found:
        raise AssertionError("the secret leaked: " + "; ".join(found))


@attrs.define
class CapturedLogs:
    """What every logger wrote while ``debug_logs`` was active."""

    stream: io.StringIO = attrs.Factory(io.StringIO)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@contextlib.contextmanager
def debug_logs() -> Iterator[CapturedLogs]:
    """Capture every logger (httpx, aiohttp, the plugin's, ours) at DEBUG: the root
    logger's level and a handler, both put back afterwards."""
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    # loggers with their own level (set by a library) would not reach DEBUG otherwise
    tuned = {name: lg.level for name, lg in logging.root.manager.loggerDict.items()
             if isinstance(lg, logging.Logger) and lg.level > logging.DEBUG}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in tuned:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in tuned.items():
            logging.getLogger(name).setLevel(old)


@attrs.frozen
class SecretCheck:
    """What ``check_send_keeps_secret`` looked at (for further assertions)."""

    counts: Mapping[str, int]
    logs: str
    status: str


def check_send_keeps_secret(campaign_file: str | os.PathLike[str], secret: str,
                            audience: Sequence[str | os.PathLike[str]], *,
                            environ: Mapping[str, str] | None = None,
                            paths: Iterable[str | os.PathLike[str]] = ()) -> SecretCheck:
    """Send ``campaign_file``'s sms channel to ``audience`` with every logger at DEBUG
    (entry-point plugins loaded, as ``sms send`` does), read ``sms status``, and
    ``assert_no_secret_leaks`` over the logs, the send's events and summary, the status
    JSON and every file under the campaign's folder (ledger included) and ``paths``."""
    import asyncio

    from ..api import load_campaign, send_sms, sms_status, sms_target
    from ..runtime import Runtime

    runtime = Runtime.create()
    campaign = load_campaign(Path(campaign_file), runtime=runtime)
    target = sms_target(campaign)
    events: list[str] = []
    with debug_logs() as logs:
        summary = asyncio.run(send_sms(target, runtime=runtime,
                                       audience=[str(a) for a in audience],
                                       on_event=lambda e: events.append(repr(e)),
                                       environ=environ))
    status = json.dumps(sms_status(target).as_dict(), ensure_ascii=False, default=str)
    text = "\n".join([logs.text, *events, repr(summary), status])
    assert_no_secret_leaks(secret, text, [Path(campaign_file).parent, *paths])
    return SecretCheck(dict(summary.counts), logs.text, status)
