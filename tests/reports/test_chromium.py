"""The HTML report and the live dashboard opened in headless Chromium (Debian's
/usr/bin/chromium driven by Playwright; .ci/run installs both): charts present, no
console errors, and the dashboard shows a sign-up stored while the page is open,
without a reload."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langson_comms.reports import CHARTS, report_html

from .conftest import hand_measurement
from .helpers import reference_copy, store_install

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y "
                                       "chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright driver (uv sync --dev)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, timeout=60_000)
        yield chromium
        chromium.close()


def opened(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url, timeout=60_000)
    return page, problems


def test_html_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(report_html(hand_measurement()), encoding="utf-8")
    requests: list[str] = []
    page, problems = opened(browser, path.as_uri())
    page.on("request", lambda r: requests.append(r.url))
    page.wait_for_load_state("load")
    charts = page.locator("figure.chart svg")
    assert charts.count() == len(CHARTS)
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 80  # drawn, not empty
    assert page.locator("#kpi-installs td").nth(2).inner_text() == "4"
    assert "Lượt tiếp cận cộng dồn so với mục tiêu" in page.locator("svg").first.inner_html()
    assert problems == [] and requests == []
    page.close()


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    campaign = reference_copy(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "langson_comms", "dashboard", "-c", str(campaign), "--port", "0",
         "--to", "2022-07-20", "--poll-ms", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "dashboard on http://127.0.0.1:PORT/ (Ctrl-C stops)"
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, (line, process.stderr.read() if process.poll() is not None and process.stderr else "")
        yield match.group(0), campaign
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0  # SIGTERM stops it cleanly


def test_dashboard_shows_a_new_sign_up_without_a_reload(browser: Any, dashboard: tuple[str, Path]) -> None:
    url, campaign = dashboard
    page, problems = opened(browser, url)
    installs = page.locator("#kpi-installs td").nth(2)
    assert installs.inner_text() == "chưa có số liệu"  # no sign-up yet: no figure (review11)
    # nothing measured yet: no chart of a flat 0 (review11); they come with the first sign-up
    assert page.locator("figure.chart svg").count() == 0
    page.evaluate("window.__same_page = true")  # gone if the page were reloaded
    store_install(campaign, "while-open-1")
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect(page.locator("#kpi-installs td").nth(2)).to_have_text("1", timeout=30_000)
    assert page.evaluate("window.__same_page") is True
    assert page.locator("#team-T5971").count() == 1
    assert page.locator("figure.chart svg").count() >= 2  # installs per day, the leaderboard
    assert problems == []
    page.close()
