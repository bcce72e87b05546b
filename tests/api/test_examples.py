"""Every script of examples/ runs as a process and exits 0, uses only the public API
(nothing from ``langson_comms.cli``, no subprocess), and is listed in examples/README.md."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))


def test_there_are_the_four_examples() -> None:
    assert {p.stem for p in SCRIPTS} >= {"define_campaign", "prepare_audience",
                                         "send_with_simulator", "schedule_stations"}
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in SCRIPTS if f"]({p.name})" not in readme] == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_uses_only_the_public_api(script: Path) -> None:
    modules = set()
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    assert "subprocess" not in modules
    assert [m for m in modules if m.startswith("langson_comms.cli")] == []
    internal = [m for m in modules if m.startswith("langson_comms.")
                and m != "langson_comms.testing.simulator"]
    assert internal == [], "examples import from the package's __all__"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert list(tmp_path.iterdir()) == []  # nothing left behind
