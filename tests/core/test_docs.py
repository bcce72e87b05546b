"""Docs move with the code: every hook documented with its exact signature; __all__ complete."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest

import langson_comms
from langson_comms import hookspecs

DOCS = Path(__file__).parents[2] / "docs"


def hook_signatures() -> dict[str, str]:
    result = {}
    for name, fn in vars(hookspecs).items():
        if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT_NAME}_spec"):
            sig = inspect.signature(fn)
            params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
            result[name] = f"{name}({params}) -> {sig.return_annotation}"
    return result


def test_there_are_hooks() -> None:
    assert "register_channels" in hook_signatures()


@pytest.mark.parametrize("name,signature", sorted(hook_signatures().items()))
def test_hook_documented_with_exact_signature(name: str, signature: str) -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    documented = re.findall(rf"^#### `({re.escape(name)}\(.*)`$", text, flags=re.M)
    assert documented, f"{name} is not documented in docs/plugins.md"
    assert documented == [signature], f"docs/plugins.md documents {documented}, code says {signature}"


def test_docs_name_no_hook_that_does_not_exist() -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#### `(\w+)\(", text, flags=re.M))
    assert documented == set(hook_signatures())


def test_all_is_sorted_and_complete() -> None:
    exported = langson_comms.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(langson_comms).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "version", "PackageNotFoundError"}
    }
    assert public - set(exported) == set(), "public names missing from __all__"
    assert [n for n in exported if not hasattr(langson_comms, n)] == []
