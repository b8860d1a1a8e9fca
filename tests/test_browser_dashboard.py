"""The dashboard in a real browser: `streamlit run` on a free port against a seeded SQLite file,
headless Debian Chromium driven by Selenium, a click through every page, screenshots kept in
tests/artifacts/ for people to look at."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dashboard.safe import plain
from monitor.storage.tables import Alert
from tests.dashboard_seed import (
    BIDI,
    HOSTILE_AUTHOR,
    HOSTILE_TEXT,
    Seeded,
    seed,
    write_config,
)
from tests.support import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "tests" / "artifacts"
PAGES = ["Live", "Spreading now", "Incidents", "Inbox", "Trends", "Reports", "Sources & settings"]
WAIT = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {WAIT} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def served(sqlite_url: str, sqlite_engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    """The real server, as `python -m monitor dashboard` starts it, on a seeded database."""
    seeded = seed(sqlite_engine)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "VIGIE_CONFIG": str(write_config(tmp_path / "vigie.yaml")),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    env.pop("VIGIE_DASHBOARD_PASSWORD_HASH", None)
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log)
        yield url, seeded
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "Debian chromium is absent: apt-get install -y chromium chromium-driver "
            "(CI installs it)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # requests, for a test
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1440,1100",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1440, 1100)
    try:
        yield driver
    finally:
        driver.quit()


# Streamlit redraws parts of the page whenever a script run ends (and the live feed refreshes on
# a timer), so an element found a moment ago may be gone. The page is read in one JavaScript call
# (one consistent snapshot), and clicks are retried on a freshly found element until one lands.
_SNAPSHOT = """
const all = (css) => Array.from(document.querySelectorAll(css));
return {
  headings: all('h1').map((h) => h.innerText.trim()),
  busy: all("[data-testid='stStatusWidget'], [data-testid='stSkeleton']").length,
  stale: all("[data-stale='true']").length,
  exceptions: all("[data-testid='stException']").length,
  hrefs: all('a').map((a) => a.getAttribute('href') || ''),
  injected: all('b').filter((b) => b.innerText === 'bob').length,
  body: document.body.innerText,
};
"""


def _snapshot(driver) -> dict:
    return driver.execute_script(_SNAPSHOT)


def _settled(driver, title: str) -> dict:
    """Wait until the page's title shows and Streamlit has finished running the script, twice in
    a row a moment apart (charts and tables paint after the script ends); returns that page."""
    from selenium.webdriver.support.ui import WebDriverWait

    seen: list[dict] = []

    def ready(d) -> dict | bool:
        page = _snapshot(d)
        quiet = title in page["headings"] and not page["busy"] and not page["stale"]
        seen[:] = [*seen[-1:], page] if quiet else []
        return page if len(seen) == 2 and seen[0]["body"] == page["body"] else False

    return WebDriverWait(driver, WAIT, poll_frequency=0.5).until(ready)


def _click(driver, css: str, text: str) -> None:
    """Click the first visible element matching ``css`` whose text ends with ``text`` (icons
    come first)."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def clicked(d) -> bool:
        for element in d.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and element.text.strip().endswith(text):
                element.click()
                return True
        return False

    retried = (StaleElementReferenceException, ElementClickInterceptedException)
    WebDriverWait(driver, WAIT, poll_frequency=0.25, ignored_exceptions=retried).until(clicked)


def _no_injection(driver, page: dict) -> None:
    """No script ran from a mention (no alert box) and no javascript: link is on the page."""
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    assert not [h for h in page["hrefs"] if h.strip().lower().startswith("javascript:")]
    assert not page["injected"]
    assert not page["exceptions"]


def test_click_through_every_page(served: tuple[str, Seeded], browser, sqlite_engine: Engine):
    url, seeded = served
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(url)
    for label in PAGES:
        if label != "Live":
            _click(browser, "a[data-testid='stTopNavLink']", label)
        page = _settled(browser, label)
        _no_injection(browser, page)
        slug = label.lower().replace(" & ", "-").replace(" ", "-")
        browser.save_screenshot(str(ARTIFACTS / f"dashboard-{slug}.png"))
        if label == "Spreading now":
            assert HOSTILE_TEXT.split("!")[0] in page["body"]
            assert '<script>alert("xss")</script>' in page["body"]  # shown as text, not run
            assert plain(HOSTILE_AUTHOR) in page["body"]
            assert not BIDI.intersection(page["body"])
            _click(browser, "button", "Send alert now")
            _queued(sqlite_engine, seeded.spreading)


def _queued(engine: Engine, mention_id: int) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            found = (
                conn.execute(select(Alert.mention_id).where(Alert.kind == "manual")).scalars().all()
            )
        if found:
            assert found == [mention_id]
            return
        time.sleep(0.3)
    pytest.fail("clicking 'Send alert now' queued no alert")
