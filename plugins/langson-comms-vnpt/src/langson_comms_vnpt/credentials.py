"""The API password, read from the environment (``api_pass_env``) or a file (``api_pass_file``).

Never from the campaign file: an ``api_pass`` key there is a located error.  A file must
be readable by its owner only (``chmod 600``), like the webhook secrets of the core.
Errors name the key and the variable or file, never the value.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from langson_comms.config import ConfigContext
from langson_comms.scrub import clean_secret

__all__ = ["read_secret"]


def read_secret(context: ConfigContext, environ: Mapping[str, str], *, env_name: str | None,
                file_name: str | None, key: str, what: str) -> str:
    """The secret named by ``<key>_env`` or ``<key>_file`` (exactly one is set, checked by
    the caller); ``what`` says what it is in messages ("the VNPT API password")."""
    if env_name is not None:
        value = environ.get(env_name)
        if value is None:
            raise context.error(f"environment variable {env_name} is not set ({what})", f"{key}_env")
        try:
            return clean_secret(value)
        except ValueError as exc:
            raise context.error(f"environment variable {env_name} ({what}) {exc}", f"{key}_env") from None
    assert file_name is not None
    path = Path(file_name)
    path = path if path.is_absolute() else Path(context.base_dir) / path
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise context.error(f"cannot read the file {path} ({what}): {reason}", f"{key}_file") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise context.error(f"the file {path} ({what}) is readable by others (expected chmod 600)",
                            f"{key}_file")
    try:
        return clean_secret(text)
    except ValueError as exc:
        raise context.error(f"the file {path} ({what}) {exc}", f"{key}_file") from None
