"""The docs' complete programs (a Python block after ``<!-- complete program -->``) type-check
with ``mypy --strict``, and the broadcasting library example runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
MARKER = "<!-- complete program -->"
BLOCK = re.compile(rf"^{re.escape(MARKER)}\n```python\n(.*?)^```", flags=re.M | re.S)


def complete_programs() -> dict[str, str]:
    """``{"docs/page.md:LINE": code}`` for every marked block of docs/ and the README."""
    found: dict[str, str] = {}
    for path in sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]):
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start(1)) + 1
            found[f"{path.relative_to(ROOT).as_posix()}:{line}"] = match.group(1)
        markers = len(re.findall(rf"^{re.escape(MARKER)}$", text, flags=re.M))
        assert markers == len(BLOCK.findall(text)), f"{path}: a marker not followed by a python block"
    return found


def test_the_promised_examples_are_marked() -> None:
    pages = {where.split(":")[0] for where in complete_programs()}
    # plugins.md's command example uses the shared -c/--campaign option (it took a
    # positional CAMPAIGN_FILE, against the one convention of cli.md)
    assert {"docs/sms-preparation.md", "docs/broadcasting.md", "docs/plugins.md"} <= pages


def test_complete_programs_pass_mypy_strict(tmp_path: Path) -> None:
    files = {}
    for i, (where, code) in enumerate(complete_programs().items()):
        path = tmp_path / f"doc_block_{i}.py"
        path.write_text(code, encoding="utf-8")
        files[path.name] = where
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--no-incremental",
         "--cache-dir", os.devnull, "--python-version", "3.11", *sorted(files)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    report = done.stdout
    for name, where in files.items():   # name the page and line, not the temporary file
        report = report.replace(name, where)
    assert done.returncode == 0, report


def test_the_broadcasting_library_example_runs(tmp_path: Path) -> None:
    code = next(c for where, c in complete_programs().items() if where.startswith("docs/broadcasting.md"))
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    (tmp_path / "example.py").write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out = tmp_path / "out" / "broadcast-example"
    assert re.search(r"^\d+ airings at 15 stations", done.stdout, flags=re.M), done.stdout
    assert (out / "runsheets" / "districts" / "180.csv").is_file()
    assert len(list((out / "sheets").glob("*.html"))) == 15
