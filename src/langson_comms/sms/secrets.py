"""Reading a gateway's credential: from an environment variable or a secret file, never
from the campaign file.

A gateway table names its secret ``<key>`` by ``<key>_env`` (an environment variable's
name) or ``<key>_file`` (a file, relative to the campaign file, readable by its owner
only: ``chmod 600``).  ``read_secret`` reads it and raises a located ``ConfigError``
(``channels.sms.gateways.<id>.<key>_env`` or ``..._file``) that names the variable or the
file and what was expected, never the value.  Surrounding whitespace (a trailing
newline, a CRLF line end) is not part of a secret; an empty one or one holding a control
character is refused (``langson_comms.scrub.clean_secret``).

The sms channel scrubs what it reads this way from ledger reasons, logs and error bodies:
the variables named by every ``*_env`` key and the files named by every ``*_file`` key of
a gateway table (``secret_file_value``) -- so name the keys ``<key>_env``/``<key>_file``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from ..config import ConfigContext
from ..errors import ConfigError
from ..scrub import clean_secret

__all__ = ["MAX_SECRET_FILE_BYTES", "load_secret", "read_secret", "secret_file_value"]

#: a secret file larger than this is not a secret file (refused; not read for scrubbing)
MAX_SECRET_FILE_BYTES = 64 * 1024


def read_secret(context: ConfigContext, key: str, *, env_name: str | None,
                file_name: str | os.PathLike[str] | None, what: str,
                environ: Mapping[str, str] | None = None) -> str:
    """The secret a gateway table names by ``<key>_env`` (``env_name``) or ``<key>_file``
    (``file_name``, relative to ``context.base_dir``); exactly one is set (checked by the
    caller, which knows its keys).  ``what`` says what it is in messages ("the Viettel
    password"); ``environ`` defaults to ``os.environ``.

    Raises ``CampaignFileError`` located at ``<key>_env`` or ``<key>_file`` under
    ``context``, naming the variable or file, never the value."""
    try:
        return load_secret(env_name=env_name, file_name=file_name, what=what, environ=environ,
                           base_dir=context.base_dir, env_key=f"{key}_env",
                           file_key=f"{key}_file")
    except ConfigError as exc:
        raise context.error(exc.message, exc.key) from None


def load_secret(*, env_name: str | None, file_name: str | os.PathLike[str] | None = None,
                what: str, environ: Mapping[str, str] | None = None,
                base_dir: str | os.PathLike[str] = ".", env_key: str | None = None,
                file_key: str | None = None) -> str:
    """``read_secret`` without a ``ConfigContext``: the ``ConfigError`` it raises carries
    ``env_key`` or ``file_key`` as its key, for the caller to locate."""
    if env_name is not None:
        value = (os.environ if environ is None else environ).get(env_name)
        if value is None:
            raise ConfigError(f"environment variable {env_name} is not set ({what})", key=env_key)
        try:
            return clean_secret(value)
        except ValueError as exc:
            raise ConfigError(f"environment variable {env_name} ({what}) {exc}",
                              key=env_key) from None
    if file_name is None:
        raise ConfigError(f"expected {env_key or 'an environment variable'} or "
                          f"{file_key or 'a file'} ({what})", key=env_key)
    path = _resolve(file_name, base_dir)
    try:
        info = path.stat()
        too_large = info.st_size > MAX_SECRET_FILE_BYTES
        text = "" if too_large else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"cannot read the secret file {path} ({what}): {reason}",
                          key=file_key) from None
    if too_large:
        raise ConfigError(f"the secret file {path} ({what}) is larger than "
                          f"{MAX_SECRET_FILE_BYTES} bytes: not a secret file", key=file_key)
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"the secret file {path} ({what}) is readable by others "
                          "(expected chmod 600)", key=file_key)
    try:
        return clean_secret(text)
    except ValueError as exc:
        raise ConfigError(f"the secret file {path} ({what}) {exc}", key=file_key) from None


def secret_file_value(file_name: str | os.PathLike[str],
                      base_dir: str | os.PathLike[str] = ".") -> str | None:
    """The secret in ``file_name`` as ``load_secret`` would read it, or ``None`` when it
    would refuse the file (missing, too large, readable by others, empty…): for building
    a scrubber, which must not fail where the gateway reports the problem itself."""
    try:
        return load_secret(env_name=None, file_name=file_name, what="", base_dir=base_dir)
    except ConfigError:
        return None


def _resolve(file_name: str | os.PathLike[str], base_dir: str | os.PathLike[str]) -> Path:
    path = Path(file_name)
    return path if path.is_absolute() else Path(base_dir) / path
