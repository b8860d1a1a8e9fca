"""Secrets stay out of what the CLI prints and what the dashboard shows; a config file other users
can read is warned about."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from dashboard import context
from monitor.config import load_config
from monitor.storage.db import make_engine, upgrade
from tests.support import ROOT

SECRETS = {
    "SMTP_PASSWORD": "smtp-S3cret-pw",
    "TWITTER_BEARER_TOKEN": "AAAA-bearer-T0ken",
    "REDDIT_CLIENT_SECRET": "reddit-Cl1ent-secret",
    "MASTODON_ACCESS_TOKEN": "masto-Acc3ss-token",
    "BLUESKY_APP_PASSWORD": "bsky-App-Passw0rd",
}
DB_PASSWORD = "db-Passw0rd-secret"
CONFIG = "brands:\n  - name: Parkeo\n    keywords: [parkeo]\nsources:\n  demo: {}\n"


def _config(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "vigie.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    path.chmod(mode)
    return path


def _with_password(url: str) -> str:
    """The test database URL with a password (ignored by a trust-auth server, never shown)."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{DB_PASSWORD}@")


def _cli(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "monitor", "-v", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout + proc.stderr


def test_cli_start_up_output_shows_no_secret(pg_url: str, tmp_path: Path):
    env = {**os.environ, **SECRETS, "VIGIE_DATA_DIR": str(tmp_path), "SMTP_HOST": "127.0.0.1",
           "SMTP_USER": "vigie", "DATABASE_URL": _with_password(pg_url)}
    config = str(_config(tmp_path))
    output = "".join(_cli(["--config", config, *args], env)
                     for args in (["db", "upgrade"], ["check"], ["sources"]))
    assert "postgresql://postgres:***@" in output  # the database is named, its password masked
    for secret in [*SECRETS.values(), DB_PASSWORD]:
        assert secret not in output


@pytest.fixture
def settings_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str) -> AppTest:
    engine = make_engine(pg_url)
    upgrade(engine)
    engine.dispose()
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMTP_HOST", "smtp.example.test")
    monkeypatch.setenv("SMTP_USER", "vigie")
    monkeypatch.setenv("DATABASE_URL", _with_password(pg_url))
    monkeypatch.setenv("VIGIE_CONFIG", str(_config(tmp_path, 0o640)))
    monkeypatch.delenv("VIGIE_DASHBOARD_PASSWORD_HASH", raising=False)
    before = st.config.get_option("server.address")
    st.config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
        at.switch_page("views/settings.py").run()
        yield at
    finally:
        st.config.set_option("server.address", before)
        context.engine_for.clear()


def test_dashboard_settings_page_shows_no_secret(settings_page: AppTest):
    at = settings_page
    assert not at.exception, at.exception[0].value
    page = "\n".join(text_format.MessageToString(node.proto, as_utf8=True)
                     for node in [*at.main, *at.sidebar] if node.proto is not None)
    assert "Sources" in page  # the page did render
    for secret in [*SECRETS.values(), DB_PASSWORD]:
        assert secret not in page


def test_a_config_file_other_users_can_read_is_warned_about(tmp_path: Path, caplog):
    with caplog.at_level(logging.WARNING, logger="monitor.config"):
        load_config(_config(tmp_path, 0o600))
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="monitor.config"):
        load_config(_config(tmp_path, 0o644))
    assert "readable by other users" in caplog.text and "chmod 640" in caplog.text
