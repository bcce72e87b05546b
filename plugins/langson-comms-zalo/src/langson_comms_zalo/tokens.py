"""The Zalo OA's OAuth tokens on disk: read, locked, and replaced atomically.

Zalo's OAuth v4 refresh tokens are single-use: refreshing with ``R1`` gives a new access
token ``A2`` and a new refresh token ``R2``.  Losing ``R2`` locks the account out until a
person authorises the OA again, so the order of a refresh is (``ZnsGateway._refresh``):

1. take the lock file (``<token_file>.lock``, ``flock``: one refresh at a time, across
   processes) and read the file again — another process may have refreshed already;
2. ask for ``A2``/``R2`` with ``R1``;
3. write ``{access_token: A2, refresh_token: R2, expires_at}`` to ``.<name>.tmp`` in the
   same folder (owner-only), ``fsync`` it, ``rename`` it over the token file, ``fsync``
   the folder;
4. only then use ``A2``.

``R1`` is spent, at the latest, when ``A2`` (or ``R2``) is first used — after step 3.  A
crash before step 3 ends leaves ``R1`` on disk, still good; a crash after it leaves
``R2`` on disk.  ``checkpoint(step)`` is called after each step (``refreshed``,
``temp_written``, ``saved``): the tests crash there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import math
import os
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import attrs

__all__ = ["TokenFileError", "TokenStore", "Tokens"]


@attrs.frozen
class Tokens:
    refresh_token: str
    access_token: str | None = None
    #: when the access token expires, Unix seconds (0: unknown, refresh before use)
    expires_at: float = 0.0

    def __repr__(self) -> str:  # tokens are never shown
        return f"Tokens(expires_at={self.expires_at!r})"


class TokenFileError(Exception):
    """The token file cannot be used; the message names the file, never a token."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value and value.isprintable() else None


class TokenStore:
    """The token file at ``path`` (JSON, owner-only)."""

    def __init__(self, path: Path, *, checkpoint: Callable[[str], None] | None = None) -> None:
        # a symbolic link is followed: the target is replaced (and locked), never the link
        # itself — else whatever else reads the target keeps the spent refresh token
        path = Path(os.path.realpath(path))
        self.path = path
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._lock_path = path.with_name(f"{path.name}.lock")
        self._checkpoint = checkpoint or (lambda step: None)

    def load(self) -> Tokens:
        try:
            mode = self.path.stat().st_mode
            raw = self.path.read_bytes()
        except OSError as exc:
            raise TokenFileError(f"cannot read the token file {self.path}: "
                                 f"{exc.strerror or type(exc).__name__}") from None
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise TokenFileError(f"the token file {self.path} is readable by others "
                                 "(expected chmod 600)")
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TokenFileError(f"the token file {self.path} is not JSON (expected "
                                 '{"refresh_token": "…"})') from None
        if not isinstance(data, dict) or _text(data.get("refresh_token")) is None:
            raise TokenFileError(f"the token file {self.path} has no refresh_token (text)")
        expires = data.get("expires_at", 0)
        if not isinstance(expires, int | float) or isinstance(expires, bool) \
                or not math.isfinite(expires):
            raise TokenFileError(f"the token file {self.path}: expires_at is not a number")
        return Tokens(str(data["refresh_token"]), _text(data.get("access_token")), float(expires))

    def save(self, tokens: Tokens) -> None:
        """Replace the file atomically (temp + fsync + rename + folder fsync)."""
        body = json.dumps({"access_token": tokens.access_token,
                           "refresh_token": tokens.refresh_token,
                           "expires_at": tokens.expires_at}).encode()
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, body)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._checkpoint("temp_written")
        os.replace(self._tmp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self._checkpoint("saved")

    def checkpoint(self, step: str) -> None:
        self._checkpoint(step)

    @contextlib.asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Hold the lock file (waiting in a thread, so the event loop goes on)."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
