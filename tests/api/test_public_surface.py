"""Every job of ``langson_comms.api`` is re-exported by ``langson_comms`` (what
docs/architecture.md promises: a host imports the calls from the package itself), and
each has a docstring."""

from __future__ import annotations

import inspect

import langson_comms
from langson_comms import api


def test_every_api_name_is_re_exported_by_the_package() -> None:
    missing = [name for name in api.__all__ if name not in langson_comms.__all__]
    assert missing == []
    assert [n for n in api.__all__ if getattr(langson_comms, n) is not getattr(api, n)] == []


def test_every_api_call_has_a_docstring() -> None:
    bare = [name for name in api.__all__
            if inspect.isfunction(getattr(api, name)) and not inspect.getdoc(getattr(api, name))]
    assert bare == []
