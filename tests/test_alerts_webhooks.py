"""Chat/webhook alerts through the real apprise library to a real HTTP server on loopback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.outbox import delivery_state
from monitor.alerts.webhooks import md
from monitor.config import Settings
from tests.alerts_fixtures import (
    WebhookReceiver,
    add_mention,
    alert_id,
    deliveries,
    queue,
    write_config,
)

HOSTILE = "@everyone [free money](https://evil.example) <script>x</script> <!channel> *bold*"


@pytest.fixture
def hook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def test_webhook_gets_neutralised_markdown_once_with_idempotency_key(
    engine, hook, tmp_path, now, monkeypatch
):
    token_url = f"json://127.0.0.1:{hook.port}/hooks/T0KEN-SECRET"
    monkeypatch.setenv("VIGIE_TEST_CHAT", token_url)
    config = write_config(
        tmp_path,
        f'      webhooks: ["json://127.0.0.1:{hook.port}/plain", "env:VIGIE_TEST_CHAT"]',
    )
    mention = add_mention(engine, now, text=HOSTILE, author="<b>mallory</b>", language="nl")
    queue(engine, now, "spreading:1", mention_id=mention, severity="high", details={"reshares": 9})
    settings = config_settings(tmp_path)

    assert deliver_pending(engine, config, settings, now) == 2
    assert deliver_pending(engine, config, settings, now + timedelta(hours=1)) == 0

    assert len(hook.posts) == 2
    for headers, payload in hook.posts:
        message = payload["message"]
        assert payload["type"] == "warning"
        assert "<script>" not in message and "‹script›" in message
        assert "<!channel>" not in message
        assert "@everyone" not in message and "@\u200beveryone" in message
        assert "[free money](https://evil.example)" not in message
        assert "\\[free money\\]" in message
        assert "Suggested reply (nl):" in message
        assert f"(https://vigie.example.test/?mention={mention})" in message
        key = headers["X-Vigie-Idempotency-Key"]
        assert key.startswith(f"vigie.alert-{alert_id(engine, 'spreading:1')}.1.")
    targets = {row.target for row in deliveries(engine)}
    assert "env:VIGIE_TEST_CHAT" in targets
    assert not any("T0KEN-SECRET" in t for t in targets), "a webhook secret reached the database"


def test_webhook_error_is_retried_and_a_missing_secret_fails_clearly(
    engine, hook, tmp_path, now, monkeypatch
):
    monkeypatch.delenv("VIGIE_UNSET_CHAT", raising=False)
    config = write_config(
        tmp_path, f'      webhooks: ["json://127.0.0.1:{hook.port}/x", "env:VIGIE_UNSET_CHAT"]'
    )
    hook.statuses = [500]
    queue(engine, now, "volume:1", kind="volume", details={"count": 30, "baseline": 4.0})
    settings = config_settings(tmp_path)

    assert deliver_pending(engine, config, settings, now) == 0
    by_target = {row.target: row for row in deliveries(engine)}
    assert by_target["env:VIGIE_UNSET_CHAT"].status == "failed"
    assert "VIGIE_UNSET_CHAT is not set" in by_target["env:VIGIE_UNSET_CHAT"].last_error
    [json_key] = [k for k in by_target if k.startswith("json://")]
    assert by_target[json_key].status == "pending"
    assert "500" in by_target[json_key].last_error

    assert deliver_pending(engine, config, settings, now + timedelta(minutes=1)) == 1
    assert len(hook.posts) == 1
    [state] = delivery_state(engine, [alert_id(engine, "volume:1")]).values()
    assert state.status == "partial"


def test_markdown_neutraliser_keeps_text_readable():
    assert md("Fined twice_ (2x) for #parking!") == r"Fined twice\_ \(2x\) for \#parking\!"
    assert md("<@&123> @here") == "‹@&123› @\u200bhere"
    assert md("line\nbreak") == "line break"
    assert md("x" * 700).endswith("…") and len(md("x" * 700)) == 600


def config_settings(tmp_path):
    """No SMTP server: only the chat targets are used."""
    return Settings(VIGIE_DATA_DIR=str(tmp_path))
