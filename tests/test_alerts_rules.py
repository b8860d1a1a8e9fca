"""Alert rules: dedup and escalation, severity routing, quiet hours with a morning digest,
cooldown, manual alerts, delivery state and resending; and the schema migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, insert, select, update

from monitor.alerts.deliver import deliver_pending
from monitor.alerts.outbox import delivery_state, retry_deliveries
from monitor.alerts.rules import Target, quiet_until, targets, webhook_key
from monitor.config import BrandAlerts, QuietHours
from monitor.storage.db import alembic_config, make_engine, upgrade
from monitor.storage.tables import Alert, AlertDelivery
from tests.alerts_fixtures import (
    SmtpSink,
    add_mention,
    alert_id,
    deliveries,
    queue,
    write_config,
)

# 23:30 in Brussels (UTC+1 in November): inside quiet hours 22:00-07:00, digest at 08:00.
NIGHT = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
MORNING = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
QUIET = """      recipients: [lead@acme.test]
      quiet_hours: {start: "22:00", end: "07:00", timezone: Europe/Brussels, digest_time: "08:00"}
"""


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def test_severity_routing_picks_recipients_and_webhooks():
    rules = BrandAlerts.model_validate(
        {
            "recipients": ["lead@acme.test"],
            "routes": [
                {"min_severity": "high", "recipients": ["head@acme.test", "Lead@acme.test"]},
                {"min_severity": "critical", "webhooks": ["env:PAGER_URL"]},
            ],
        }
    )
    assert targets(rules, "warning", True) == [Target("email", "lead@acme.test")]
    assert targets(rules, "high", True) == [
        Target("email", "lead@acme.test"),
        Target("email", "head@acme.test"),
    ]
    assert targets(rules, "critical", True)[-1] == Target("webhook", "env:PAGER_URL")
    # No SMTP server: the email goes to the .eml outbox, the webhook still goes.
    assert targets(rules, "critical", False) == [
        Target("file", "outbox"),
        Target("webhook", "env:PAGER_URL"),
    ]
    assert webhook_key("slack://T1/B2/secret").startswith("slack://#")
    assert "secret" not in webhook_key("slack://T1/B2/secret")


def test_quiet_hours_follow_the_local_clock_across_midnight():
    quiet = QuietHours(start="22:00", end="07:00", timezone="Europe/Brussels", digest_time="08:00")
    assert quiet_until(quiet, NIGHT) == MORNING  # 08:00 Brussels = 07:00 UTC
    assert quiet_until(quiet, datetime(2026, 11, 24, 5, 0, tzinfo=UTC)) == MORNING
    assert quiet_until(quiet, datetime(2026, 11, 24, 6, 0, tzinfo=UTC)) is None  # 07:00 local
    summer = datetime(2026, 7, 1, 4, 0, tzinfo=UTC)  # 06:00 local (UTC+2)
    assert quiet_until(quiet, summer) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def test_quiet_hours_hold_alerts_for_one_morning_digest_but_not_critical_ones(
    engine, smtp, tmp_path
):
    config = write_config(tmp_path, QUIET)
    settings = smtp.settings(tmp_path)
    for n in range(3):
        queue(engine, NIGHT + timedelta(minutes=n), f"spreading:{n}", details={"text": f"t{n}"})
    queue(engine, NIGHT, "incident:9", kind="incident", severity="critical")

    assert deliver_pending(engine, config, settings, NIGHT + timedelta(minutes=5)) == 1
    [urgent] = smtp.recorder.messages
    assert urgent.message["X-Vigie-Alert-Ids"] == str(alert_id(engine, "incident:9"))
    held = delivery_state(engine, [alert_id(engine, f"spreading:{n}") for n in range(3)])
    assert {(s.status, s.held_until) for s in held.values()} == {("held", MORNING)}

    assert deliver_pending(engine, config, settings, MORNING - timedelta(minutes=1)) == 0
    assert deliver_pending(engine, config, settings, MORNING) == 1
    digest = smtp.recorder.messages[-1].message
    assert digest["Subject"] == "[Vigie] Digest: 3 alerts for Acme"
    text = digest.get_body(("plain",)).get_content()
    assert all(f"Alert spreading:{n}" in text for n in range(3))
    states = delivery_state(engine, [alert_id(engine, f"spreading:{n}") for n in range(3)])
    assert {s.status for s in states.values()} == {"sent"}
    assert deliver_pending(engine, config, settings, MORNING + timedelta(hours=1)) == 0


def test_cooldown_groups_alerts_and_manual_alerts_bypass_it(engine, smtp, tmp_path, now):
    config = write_config(
        tmp_path, "      recipients: [lead@acme.test]\n      cooldown_minutes: 15"
    )
    settings = smtp.settings(tmp_path)
    queue(engine, now, "spreading:a")
    assert deliver_pending(engine, config, settings, now) == 1

    queue(engine, now + timedelta(minutes=1), "spreading:b")
    queue(engine, now + timedelta(minutes=5), "spreading:c")
    deliver_pending(engine, config, settings, now + timedelta(minutes=5))
    mention = add_mention(engine, now, text="look at this")
    # "Send alert now" in the dashboard: a manual alert goes out whatever the cooldown.
    queue(engine, now + timedelta(minutes=6), "manual:1", kind="manual", mention_id=mention)
    assert deliver_pending(engine, config, settings, now + timedelta(minutes=6)) == 1
    manual = smtp.recorder.messages[-1].message
    assert manual["X-Vigie-Alert-Ids"] == str(alert_id(engine, "manual:1"))
    assert "look at this" in manual.get_body(("plain",)).get_content()

    assert deliver_pending(engine, config, settings, now + timedelta(minutes=14)) == 0
    assert deliver_pending(engine, config, settings, now + timedelta(minutes=15)) == 1
    digest = smtp.recorder.messages[-1].message
    ids = {str(alert_id(engine, "spreading:b")), str(alert_id(engine, "spreading:c"))}
    assert set(digest["X-Vigie-Alert-Ids"].split()) == ids
    assert len(smtp.recorder.messages) == 3


def test_one_alert_per_key_re_sent_only_when_it_grows_by_the_factor(engine, smtp, tmp_path, now):
    config = write_config(
        tmp_path, "      recipients: [lead@acme.test]\n      escalation_factor: 2"
    )
    settings = smtp.settings(tmp_path)
    assert queue(engine, now, "incident:1", kind="incident", metric=10, title="10 complaints")
    # Grows before it went out: the pending alert is refreshed, not doubled.
    assert not queue(engine, now, "incident:1", kind="incident", metric=15, title="15 complaints")
    assert deliver_pending(engine, config, settings, now) == 1
    first = smtp.recorder.messages[0].message
    assert first["Subject"] == "[Vigie] 15 complaints"

    later = now + timedelta(minutes=10)
    assert not queue(engine, later, "incident:1", kind="incident", metric=29, title="29")
    assert not queue(engine, later, "incident:1", kind="incident", title="no metric")
    assert deliver_pending(engine, config, settings, later) == 0

    assert queue(engine, later, "incident:1", kind="incident", metric=30, title="30 complaints")
    assert deliver_pending(engine, config, settings, later) == 1
    update_msg = smtp.recorder.messages[1].message
    assert update_msg["Subject"] == "[Vigie] Update: 30 complaints"
    assert update_msg["In-Reply-To"] == first["Message-ID"]
    assert update_msg["Message-ID"] != first["Message-ID"]
    [state] = delivery_state(engine, [alert_id(engine, "incident:1")]).values()
    assert (state.status, state.revision) == ("sent", 2)
    assert [(d.revision, d.status) for d in state.deliveries] == [(1, "sent"), (2, "sent")]


def test_unknown_delivery_is_shown_and_can_be_resent_by_hand(engine, smtp, tmp_path, now):
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    settings = smtp.settings(tmp_path)
    queue(engine, now, "spreading:1")
    deliver_pending(engine, config, settings, now)
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).values(status="unknown", last_error="lost"))
        conn.execute(update(Alert).values(status="failed"))

    [state] = delivery_state(engine, [alert_id(engine, "spreading:1")]).values()
    assert state.deliveries[0].status == "unknown"
    assert retry_deliveries(engine, now, [alert_id(engine, "spreading:1")]) == 1
    assert deliver_pending(engine, config, settings, now) == 1
    first, again = smtp.recorder.messages
    assert first.message["Message-ID"] == again.message["Message-ID"]
    assert deliveries(engine)[0].status == "sent"


def test_migration_keeps_sent_alerts_sent_and_delivers_pending_ones(
    sqlite_url, smtp, tmp_path, now
):
    engine = make_engine(sqlite_url)
    command.upgrade(alembic_config(engine), "0001")
    naive = now.replace(tzinfo=None)
    row = {
        "kind": "spreading",
        "brand": "Acme",
        "severity": "warning",
        "title": "old",
        "details": {},
        "attempts": 1,
        "created_at": naive,
        "next_attempt_at": naive,
    }
    with engine.begin() as conn:
        legacy = Table("alerts", MetaData(), autoload_with=conn)  # the schema before 0003
        conn.execute(
            insert(legacy),
            [
                {**row, "dedup_key": "old:sent", "status": "sent", "sent_at": naive},
                {**row, "dedup_key": "old:pending", "status": "pending", "sent_at": None},
            ],
        )
    upgrade(engine)
    config = write_config(tmp_path, "      recipients: [lead@acme.test]")
    assert deliver_pending(engine, config, smtp.settings(tmp_path), now) == 1
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(Alert.dedup_key, Alert.status)).all())
    assert statuses == {"old:sent": "sent", "old:pending": "sent"}
    assert [d.alert_id for d in deliveries(engine)] == [alert_id(engine, "old:pending")]
    engine.dispose()
