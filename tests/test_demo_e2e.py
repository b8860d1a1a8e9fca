"""End to end: the demo command, on a SQLite file, from collection to alert emails."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from datetime import datetime, timedelta

from sqlalchemy import func, select

from monitor.collectors.demo import DemoCollector
from monitor.storage.db import make_engine
from monitor.storage.tables import Alert, AlertDelivery, Mention, Sentiment
from tests.support import ROOT

SIMULATED_MINUTES = 240
INCIDENT_AFTER = 180  # vigie.example.yaml
START = "2026-11-23T06:53:17Z"
"""Pinned, so the run is the same at any time of day; late in an hour, where a stream's partial
first hour once read as a quiet rate and the demo's ordinary chatter raised a volume alert."""


def test_demo_incident_reaches_the_outbox_and_nothing_is_stored_twice(tmp_path):
    env = {**os.environ, "VIGIE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "monitor", "demo", "--minutes", str(SIMULATED_MINUTES),
           "--step", "2", "--start", START, "--no-dashboard"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]

    engine = make_engine(f"sqlite:///{tmp_path / 'vigie.db'}")
    with engine.connect() as conn:
        total, distinct = conn.execute(
            select(func.count(), func.count(func.distinct(Mention.external_id)))
        ).one()
        unscored = conn.execute(
            select(func.count()).where(~Mention.id.in_(select(Sentiment.mention_id)))
        ).scalar_one()
        epoch = conn.execute(select(func.min(Mention.created_at))).scalar_one()
        alerts = conn.execute(
            select(Alert.id, Alert.kind, Alert.status, Alert.created_at, Mention.external_id)
            .outerjoin(Mention, Mention.id == Alert.mention_id)
        ).all()
        sent = conn.execute(
            select(AlertDelivery.alert_id, AlertDelivery.revision)
            .where(AlertDelivery.status == "sent")
        ).all()
    assert timedelta(0) < epoch - datetime.fromisoformat(START) < timedelta(minutes=3)
    assert total == distinct > 200
    assert unscored == 0

    incident_start = epoch + timedelta(minutes=INCIDENT_AFTER - 1)
    incident_alerts = [a for a in alerts if a.created_at >= incident_start]
    assert incident_alerts, f"no alert after the incident started: {alerts}"
    assert not [a for a in alerts if a.created_at < incident_start], "alert before the incident"
    spreading = [a for a in incident_alerts if a.kind == "spreading"]
    assert spreading and all(int(a.external_id.rsplit("-", 1)[1]) >= 100 for a in spreading), (
        "spreading alerts must point at incident posts"
    )
    assert {a.status for a in incident_alerts} == {"sent"}

    outbox = sorted((tmp_path / "outbox").glob("*.eml"))  # every revision sent, each once
    assert {a.id for a in alerts} == {alert_id for alert_id, _ in sent}
    assert sorted(p.stem for p in outbox) == sorted(f"alert-{a:08d}-r{r}" for a, r in sent)
    message = email.message_from_bytes(outbox[0].read_bytes())
    assert message["Subject"].startswith("[Vigie]")
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}


def test_demo_stream_is_deterministic_and_resumable(now):
    collector = DemoCollector("Parkeo", seed=3)
    epoch = now - timedelta(hours=2)
    cursor = {"epoch": epoch.isoformat(), "minute": -1}
    whole = [m.external_id for b in collector.collect(cursor, now) for m in b.mentions]
    middle = now - timedelta(minutes=50)
    first = list(collector.collect(cursor, middle))
    rest = list(collector.collect(first[-1].cursor, now))
    pieces = [m.external_id for b in first + rest for m in b.mentions]
    assert set(whole) == set(pieces)
    languages = {m.language for b in first for m in b.mentions}
    assert languages == {"fr", "nl", "en"}
