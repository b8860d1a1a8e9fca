"""In a real browser (headless Debian Chromium): the dashboard makes no request to any other host
(no third-party font or icon), and the weekly report is shown without running its scripts or
sitting in an iframe that allows both scripts and same-origin access."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from monitor.reports import registry
from tests.dashboard_seed import Seeded
from tests.test_browser_dashboard import PAGES, _click, _settled, browser, served  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_FRAMES = """
return {
  frames: Array.from(document.querySelectorAll('iframe')).map((f) => f.getAttribute('sandbox')),
  pwned: window.pwned === 1 || Array.from(document.querySelectorAll('iframe')).some((f) => {
    try { return f.contentWindow.pwned === 1; } catch (e) { return false; } }),
  planted: document.querySelectorAll('[onerror], script[data-planted]').length,
};
"""


def _requested_hosts(driver) -> set[str]:
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if urlsplit(url).scheme in ("http", "https", "ws", "wss"):
                hosts.add(urlsplit(url).hostname)
    return hosts


def _report(engine: Engine, folder: Path) -> None:
    folder.mkdir()
    (folder / "report.html").write_text(
        "<html><body><h2>Week in review</h2>"
        "<script data-planted>window.pwned = 1</script>"
        "<img src=x onerror='window.pwned = 1'></body></html>"
    )
    registry.record(engine, "Parkeo", "2026-W47", str(folder), {}, datetime.now(UTC))


def test_no_outside_request_and_no_report_script(
    served: tuple[str, Seeded],  # noqa: F811
    browser,  # noqa: F811
    sqlite_engine: Engine,
    tmp_path: Path,
):
    url, _ = served
    _report(sqlite_engine, tmp_path / "report")
    browser.get(url)
    for label in PAGES:
        if label != "Live":
            _click(browser, "a[data-testid='stTopNavLink']", label)
        _settled(browser, label)
        if label == "Reports":
            _settled(browser, label)
            shown = browser.execute_script(_FRAMES)
            assert "Week in review" in browser.execute_script("return document.body.innerText")
            assert not shown["pwned"] and not shown["planted"]
            for sandbox in shown["frames"]:
                assert sandbox is not None
                assert not {"allow-scripts", "allow-same-origin"} <= set(sandbox.split())
    assert _requested_hosts(browser) == {"127.0.0.1"}
