"""Reading the account password: from an environment variable or a secret file, never
from the campaign file.  The value never appears in an error message."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from langson_comms.scrub import clean_secret

__all__ = ["SecretError", "read_secret"]


class SecretError(Exception):
    """A secret that cannot be read; ``key`` is the configuration key to blame."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


def read_secret(*, env_key: str, env_name: str | None, file_key: str, file_name: str | None,
                environ: Mapping[str, str], base_dir: str | os.PathLike[str], what: str) -> str:
    """The secret named by ``env_name`` (an environment variable) or ``file_name`` (a file,
    relative to ``base_dir``, readable by its owner only); exactly one is set."""
    if env_name is not None:
        value = environ.get(env_name)
        if value is None:
            raise SecretError(f"environment variable {env_name} is not set ({what})", env_key)
        try:
            return clean_secret(value)
        except ValueError as exc:
            raise SecretError(f"environment variable {env_name} ({what}) {exc}", env_key) from None
    assert file_name is not None
    path = Path(file_name)
    path = path if path.is_absolute() else Path(base_dir) / path
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise SecretError(f"cannot read the secret file {path} ({what}): {reason}", file_key) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"the secret file {path} is readable by others (expected chmod 600)", file_key)
    try:
        return clean_secret(raw)
    except ValueError as exc:
        raise SecretError(f"the secret file {path} ({what}) {exc}", file_key) from None
