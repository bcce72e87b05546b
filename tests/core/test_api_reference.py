"""The API reference (MkDocs + mkdocstrings) builds with no warning, and lists what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import langson_comms.broadcast
import langson_comms.sms
from langson_comms.registry import KINDS

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"


def test_the_reference_builds_strictly_offline(tmp_path: Path) -> None:
    """`mkdocs build --strict` (as CI runs it): any warning, e.g. a broken docstring or link, fails."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    pages = {
        "reference/core/index.html": ["Campaign", "ConfigContext", "Runtime", "hookimpl"],
        "reference/sms/index.html": ["OutgoingSms", "SubmitResult", "SmsItem", "SmsGateway", "Policy"],
        "reference/broadcast/index.html": ["BroadcastScheduler", "ScheduleRequest", "export_all"],
        "reference/testing/index.html": [
            "make_context", "ContributionContract", "GatewayContract", "SchedulerContract",
            "frozen_clock", "runtime", "register_plugin", "plugin_manager", "config_context", "carrier_simulator",
        ],
        "reference/plugins/index.html": [*KINDS, *KINDS.values()],
    }
    fetched = {m for page in site.rglob("*.html")
               for m in re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', page.read_text("utf-8"))}
    assert fetched == set(), "the built pages load scripts or styles from the network"
    for page, names in pages.items():
        html = (site / page).read_text(encoding="utf-8")
        missing = [n for n in names if not re.search(rf'id="[\w.]*\b{re.escape(n)}"|<code>{re.escape(n)}</code>', html)]
        assert missing == [], f"{page} does not document {missing}"


def test_the_reference_lists_every_contribution_kind() -> None:
    text = (DOCS / "reference" / "plugins.md").read_text(encoding="utf-8")
    table = text.split("## Contribution kinds", 1)[1].split(":::", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", table, flags=re.M)
    assert dict(rows) == KINDS


@pytest.mark.parametrize("package", [langson_comms.sms, langson_comms.broadcast], ids=lambda m: m.__name__)
def test_curated_all_is_sorted_and_importable(package: types.ModuleType) -> None:
    exported = package.__all__
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    assert [n for n in exported if getattr(package, n, None) is None] == []
    assert sorted(n for n in dir(package) if n in exported) == exported


def test_sms_exports_are_the_objects_of_their_modules() -> None:
    from langson_comms.sms.gateway import OutgoingSms, SubmitResult
    from langson_comms.sms.policies import SmsItem

    assert (langson_comms.sms.OutgoingSms, langson_comms.sms.SubmitResult, langson_comms.sms.SmsItem) == (
        OutgoingSms, SubmitResult, SmsItem,
    )
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = langson_comms.sms.nothing_here


def test_ci_builds_the_reference_strictly() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^uv run mkdocs build --strict", script, flags=re.M)
