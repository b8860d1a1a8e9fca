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

from monitor.storage.tables import Alert
from tests.support import ROOT
from tests.test_dashboard_seed import HOSTILE_AUTHOR, HOSTILE_TEXT, Seeded, seed, write_config

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


def _settled(driver, title: str) -> None:
    """Wait until the page's title shows and Streamlit has finished running the script."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d) -> bool:
        headings = [h.text for h in d.find_elements(By.CSS_SELECTOR, "h1")]
        running = d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
        skeleton = d.find_elements(By.CSS_SELECTOR, "[data-testid='stSkeleton']")
        return title in headings and not running and not skeleton

    WebDriverWait(driver, WAIT, poll_frequency=0.25).until(ready)
    time.sleep(1.0)  # charts and tables paint after the script ends


def _nav(driver, label: str) -> None:
    from selenium.webdriver.common.by import By

    links = driver.find_elements(By.CSS_SELECTOR, "a[data-testid='stTopNavLink']")
    target = next(a for a in links if a.text.splitlines()[-1] == label)
    target.click()
    _settled(driver, label)


def _no_injection(driver) -> None:
    """No script ran from a mention (no alert box) and no javascript: link is on the page."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    hrefs = [a.get_attribute("href") or "" for a in driver.find_elements(By.TAG_NAME, "a")]
    assert not [h for h in hrefs if h.lower().startswith("javascript:")]
    assert not driver.find_elements(By.XPATH, "//b[text()='bob']")


def test_click_through_every_page(served: tuple[str, Seeded], browser, sqlite_engine: Engine):
    from selenium.webdriver.common.by import By

    url, seeded = served
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(url)
    _settled(browser, "Live")
    for label in PAGES:
        if label != "Live":
            _nav(browser, label)
        _no_injection(browser)
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")
        body = browser.find_element(By.TAG_NAME, "body").text
        slug = label.lower().replace(" & ", "-").replace(" ", "-")
        browser.save_screenshot(str(ARTIFACTS / f"dashboard-{slug}.png"))
        if label == "Spreading now":
            assert HOSTILE_TEXT.split("!")[0] in body
            assert '<script>alert("xss")</script>' in body  # shown as text, not run
            assert HOSTILE_AUTHOR in body
            button = next(
                b for b in browser.find_elements(By.TAG_NAME, "button")
                if b.text.endswith("Send alert now")
            )  # fmt: skip
            button.click()
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
