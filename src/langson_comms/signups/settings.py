"""The ``[signups]`` table of a campaign file: store, pseudonym key, and the sources.

::

    [signups]
    store = ".langson/signups.sqlite"            # relative to the campaign file
    pseudonym_key_env = "LANGSON_COMMS_PSEUDONYM_KEY"
    clear_numbers = false                        # true: also keep numbers in clear

    [signups.app]                                # one table per source; the key names it
    kind = "file"                                # the source class (register_signup_sources)
    platform = "cong_dan_so_xu_lang"
    files = ["signups/app.csv"]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import attrs

from .pseudonym import DEFAULT_KEY_ENV
from .source import SignupSource

__all__ = ["SignupSettings", "SignupsPlan"]


@attrs.frozen
class SignupSettings:
    """The scalar keys of ``[signups]``."""

    store: str = ".langson/signups.sqlite"
    pseudonym_key_env: str = DEFAULT_KEY_ENV
    clear_numbers: bool = False


@attrs.frozen
class SignupsPlan:
    """A campaign's sign-up configuration: settings, the store's resolved path, the sources by key."""

    settings: SignupSettings
    store_path: Path
    sources: Mapping[str, SignupSource] = attrs.field(factory=dict)
