"""The CLI is a thin shell over the public API (docs/architecture.md, "Library first"):
argument parsing and display only.  Checked simply: no ``cli/`` module over 500 lines, no
function there over 60, and ``cli/`` reaches the engine, ledger, gateways, report receiver,
sign-up ingestion, receiver and store, and stores only through ``langson_comms.api``."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "src" / "langson_comms" / "cli"

#: modules that do the work; the commands call them through ``langson_comms.api``
WORKERS = ("sms.engine", "sms.ledger", "sms.lease", "sms.reports", "sms.gateway",
           "sms.http_gateway", "broadcast.asrun", "broadcast.asrun_server",
           "broadcast.exports", "outputs", "signups", "signups.ingest", "signups.receiver",
           "signups.store")


def problems(folder: Path = CLI) -> list[str]:
    found = []
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 500:
            found.append(f"{path.name}: {len(text.splitlines())} lines (over 500)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    found.append(f"{path.name}: {node.name}() is {length} lines (over 60)")
            elif isinstance(node, ast.ImportFrom) and node.module:
                module = node.module.removeprefix("langson_comms.")
                if module in WORKERS:
                    found.append(f"{path.name}: imports {node.module} (use langson_comms.api)")
    return found


def test_the_cli_is_argument_parsing_and_display() -> None:
    assert problems() == []


def test_the_check_can_fail(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    (tmp_path / "fat.py").write_text(f"from ..sms.engine import DispatchEngine\n\n\n"
                                     f"def fat() -> None:\n{body}\n" + "#\n" * 440,
                                     encoding="utf-8")
    assert sorted(problems(tmp_path)) == ["fat.py: 514 lines (over 500)",
                                          "fat.py: fat() is 71 lines (over 60)",
                                          "fat.py: imports sms.engine (use langson_comms.api)"]
