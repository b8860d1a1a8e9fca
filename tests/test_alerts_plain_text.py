"""The plain-text part of an alert email is read in mail clients and terminals: bidi overrides
and terminal escapes from a hostile mention (its text, author or URL) must not reach it."""

from __future__ import annotations

from datetime import timedelta

from monitor.alerts.deliver import deliver_pending
from monitor.config import Settings
from tests.alerts_fixtures import add_mention, alert_id, queue, write_config
from tests.test_alerts_compose import ONE, _eml

TITLE_ESCAPE = "\x1b]0;owned\x07"
TEXT = "Parkeo fined me \u202eusd 05\u202c again \x1b[2J\x1b]0;rm -rf\x07 twice"
URL = "https://social.example/p/1\x1b]8;;https://evil.example\x07x\u202e"


def test_plain_part_has_no_bidi_override_or_terminal_escape(engine, tmp_path, now):
    config = write_config(tmp_path, ONE)
    mention = add_mention(
        engine, now - timedelta(minutes=5), text=TEXT, url=URL, author="eve\u202e\x1b[31m"
    )
    queue(engine, now, "spreading:1", mention_id=mention, title=f"Spreading {TITLE_ESCAPE}")
    deliver_pending(engine, config, Settings(VIGIE_DATA_DIR=str(tmp_path)), now)
    _, plain, _ = _eml(tmp_path, f"alert-{alert_id(engine, 'spreading:1'):08d}-r1")
    assert "Parkeo fined me usd 05 again [2J]0;rm -rf twice" in plain
    original = [line for line in plain.splitlines() if line.startswith("Original:")]
    assert original in ([], ["Original: https://social.example/p/1]8;;https://evil.examplex"])
    for char in ("\x1b", "\x07", "\u202e", "\u202c"):
        assert char not in plain
