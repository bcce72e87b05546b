"""The README's install advice works for a newcomer whose ``pip install uv`` lands off PATH."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _install_paragraph() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("python3 -m pip install uv")
    return text[start:text.find("\n\n", start)]


def test_readme_says_how_to_get_uv_on_path_or_run_it_as_a_module() -> None:
    paragraph = _install_paragraph()
    assert "~/.local/bin" in paragraph
    assert re.search(r'export PATH="\$HOME/\.local/bin:\$PATH"', paragraph)
    assert "python3 -m uv run pytest" in paragraph


def test_ci_puts_the_same_folder_on_path() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "$HOME/.local/bin" in script


def test_readme_names_the_reference_build() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mkdocs build --strict" in text
