"""Where a store lives: a path or ``sqlite:///…`` (a SQLite file) or ``postgresql://…``.

Every store key of a campaign file (the SMS ledger's ``ledger``, the sign-up, activity and
as-run stores) is read through ``store_location``, so the same spellings mean the same
thing everywhere:

* ``.langson/ledger.sqlite`` or ``/srv/ledger.sqlite`` -- a file (relative to the campaign
  file's folder);
* ``sqlite:///relative/ledger.sqlite`` or ``sqlite:////srv/ledger.sqlite`` -- the same,
  as a URL (three slashes, then the path: a fourth slash makes it absolute);
* ``postgresql://user@host:5432/db`` (or ``postgres://``) -- a PostgreSQL database.  The
  password never goes in the URL (the campaign file is not a secret): it comes from
  ``PGPASSWORD`` / ``~/.pgpass`` (read by libpq) or from the variable a ``*_password_env``
  key names.

``StoreLocation.describe()`` is what messages show: the path, or the URL without password.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs

if TYPE_CHECKING:
    from .config import ConfigContext

__all__ = ["StoreLocation", "sqlite_store_file", "sqlite_store_path", "store_location", "store_location_in",
           "url_has_password"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# a store scheme with its slashes missing (``postgresql:/db``, ``sqlite:x.sqlite``)
_BROKEN_SCHEME = re.compile(r"^(postgresql|postgres|sqlite):(?!//)", re.IGNORECASE)
# libpq's keyword/value form (``host=db dbname=x password=…``): not a file name
_CONNINFO = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|service|sslmode)\s*=",
                       re.IGNORECASE)
_EXPECTED = "expected a file path, sqlite:///path or postgresql://user@host:port/database"
POSTGRES_SCHEMES = ("postgresql", "postgres")


@attrs.frozen
class StoreLocation:
    """A store's place: ``kind`` ``sqlite`` (``path``) or ``postgresql`` (``url``)."""

    kind: Literal["sqlite", "postgresql"]
    path: Path | None = None
    url: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sqlite"

    def sqlite_path(self) -> Path:
        """The SQLite file (``ValueError`` for a server URL)."""
        if self.path is None:
            raise ValueError(f"{self.describe()} is not a SQLite file")
        return self.path

    def exists(self) -> bool:
        """Whether there is anything to read: the file exists (a server always may)."""
        return self.path.is_file() if self.path is not None else True

    def describe(self) -> str:
        """The path, or the URL without its password (for messages)."""
        if self.path is not None:
            return str(self.path)
        return _without_password(self.url or "")


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (f"{parts.username}@" if parts.username else "") + host + (
        f":{parts.port}" if _port(parts) else "")
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _port(parts: urllib.parse.SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def url_has_password(url: str) -> bool:
    """Whether a ``postgresql://`` URL carries a password (``user:pw@`` or ``?password=``)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        return True
    return any(name.lower() == "password"
               for name, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def store_location(value: str | os.PathLike[str], *, base_dir: Path | None = None) -> StoreLocation:
    """Read a store value (see the module docstring); a relative path is taken from
    ``base_dir`` when given.  ``ValueError`` (saying what is expected) for another scheme."""
    text = os.fspath(value)
    if not text.strip():  # Path("") is "." : the folder, never a store
        raise ValueError(f"an empty value is not a store: {_EXPECTED}")
    found = _SCHEME.match(text)
    # the value is never quoted: a connection string may carry a password
    if found is None and _CONNINFO.match(text):
        raise ValueError(f"a libpq connection string (keyword=value) is not a store value: {_EXPECTED}"
                         " (the password from PGPASSWORD, ~/.pgpass or a password key, never here)")
    if found is None and (broken := _BROKEN_SCHEME.match(text)):
        raise ValueError(f"{broken.group(1)}: without '//' is not a store value: {_EXPECTED}")
    if found is None:
        path = Path(text)
    else:
        scheme = found.group(1).lower()
        if scheme in POSTGRES_SCHEMES:
            try:
                urllib.parse.urlsplit(text)  # an unclosed [ipv6 host raises
            except ValueError as exc:
                raise ValueError(f"the URL cannot be read ({exc}): {_EXPECTED}") from None
            return StoreLocation("postgresql", url=text)
        if scheme != "sqlite":
            raise ValueError(f"{scheme}:// is not a store this version knows: {_EXPECTED}")
        rest = text[found.end():]
        if not rest.startswith("/") or rest == "/":
            raise ValueError("a sqlite URL is sqlite:///relative/path or"
                             " sqlite:////absolute/path (three slashes, then the path)")
        path = Path(urllib.parse.unquote(rest[1:]))
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return StoreLocation("sqlite", path=path)


def store_location_in(value: str, context: ConfigContext, key: str) -> StoreLocation:
    """``store_location`` for a campaign-file key: relative to the file's folder, and a
    located error (naming ``key``) for an unknown scheme or a password in the URL."""
    try:
        location = store_location(value, base_dir=context.base_dir)
    except ValueError as exc:
        raise context.error(str(exc), key) from None
    if location.url is not None and url_has_password(location.url):
        # never quoted: the message would carry the password
        raise context.error(
            "the URL carries a password (user:password@ or ?password=); a password never goes"
            " in the campaign file: set PGPASSWORD (or use ~/.pgpass)"
            + (" or name the variable holding it with ledger_password_env"
               if key == "ledger" else ""), key)
    return location


def sqlite_store_path(value: str, context: ConfigContext, key: str, store: str) -> Path:
    """The SQLite file of a store that has no server backend yet (``store`` names it, e.g.
    ``sign-up store``): a ``postgresql://`` URL is a located ``not supported yet`` error."""
    location = store_location_in(value, context, key)
    if location.path is None:
        raise context.error(
            f"a PostgreSQL URL is not supported yet for the {store}: only the SMS ledger"
            " ([channels.<sms channel>] ledger) can be on PostgreSQL for now; give a file path"
            " or sqlite:///path", key)
    return location.path


def sqlite_store_file(value: str | os.PathLike[str], *, store: str, key: str) -> Path:
    """The SQLite file given by a command option or argument (``key``, e.g. ``--store``)
    for a store with no server backend yet; ``ConfigError`` naming ``key`` for a
    ``postgresql://`` URL or an unknown scheme."""
    from .errors import ConfigError

    try:
        location = store_location(value)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None
    if location.path is None:
        raise ConfigError(f"a PostgreSQL URL is not supported yet for the {store}: give a file"
                          " path or sqlite:///path", key=key)
    return location.path
