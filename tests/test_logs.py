"""Secrets never reach the logs, whatever the code or a library tries to print."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from monitor.logs import RedactSecrets, redact, secret_values
from tests.support import ROOT

SECRET = "s3cr3t-Pa55word-value"


def test_secret_env_values_are_found():
    env = {"SMTP_PASSWORD": SECRET, "TWITTER_BEARER_TOKEN": "AAAAtok", "HOME": "/root"}
    assert set(secret_values(env)) == {SECRET, "AAAAtok"}


def test_redact_masks_values_url_passwords_and_bearer_tokens():
    line = (f"login with {SECRET} to postgresql://vigie:hunter22@db/vigie; "
            "Authorization: Bearer abcdefghijklmnop")
    out = redact(line, [SECRET])
    assert SECRET not in out and "hunter22" not in out and "abcdefghijklmnop" not in out
    assert "postgresql://vigie:***@db/vigie" in out


def test_filter_masks_messages_args_and_tracebacks(caplog):
    logger = logging.getLogger("vigie.test.redact")
    handler_filter = RedactSecrets([SECRET])
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("connecting with %s", SECRET)
            try:
                raise ValueError(f"auth failed for {SECRET}")
            except ValueError:
                logger.exception("delivery failed")
    finally:
        logger.removeFilter(handler_filter)
    assert SECRET not in caplog.text
    assert "***" in caplog.text


def test_cli_logs_contain_no_secret(tmp_path):
    env = {**os.environ, "VIGIE_DATA_DIR": str(tmp_path), "SMTP_PASSWORD": SECRET,
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": "9", "SMTP_USER": "vigie",
           "SMTP_SECURITY": "none", "TWITTER_BEARER_TOKEN": SECRET + "tw"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "-v", "demo", "--minutes", "200", "--step", "20",
         "--no-dashboard"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert SECRET not in proc.stdout + proc.stderr
