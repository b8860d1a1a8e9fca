"""Incident detection end to end on both databases, with the bundled encoder and sentiment model:
the demo's incident is found early and alone; real support traffic raises no storm."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from monitor.collectors.demo import DemoCollector
from monitor.config import Brand
from monitor.detection.embeddings import EmbeddingCache
from monitor.detection.grouping import cluster
from monitor.detection.incidents import detect_incidents
from monitor.mentions import MentionIn
from monitor.scoring import load_model, score_pending
from monitor.storage import rollups
from monitor.storage.ingest import store_mentions
from monitor.storage.tables import Alert, Incident, IncidentMention, Mention
from monitor.terms import stop_words
from tests.support import shared_path

INCIDENT_AFTER = 180
DETECTED_WITHIN = 45  # simulated minutes
STEP = 3
CACHE = EmbeddingCache()  # keyed by text: shared safely by both databases' runs


@pytest.fixture(scope="module")
def model():
    return load_model(None)


def _cycle(engine: Engine, model, brand: Brand, mentions: list[MentionIn], now: datetime) -> int:
    with engine.begin() as conn:
        store_mentions(conn, mentions, now)
    score_pending(engine, model, now=lambda: now)
    rollups.refresh(engine)
    return detect_incidents(engine, brand, now, CACHE)


def _incident_alerts(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Alert).where(Alert.kind == "incident")).all()


def test_the_demo_incident_is_one_incident_detected_within_minutes(engine, model, config):
    brand = config.brand("Parkeo")
    demo = DemoCollector("Parkeo", seed=7, incident_after_minutes=INCIDENT_AFTER)
    epoch = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    cursor = None
    for minute in range(0, INCIDENT_AFTER + 90, STEP):
        now = epoch + timedelta(minutes=minute)
        batches = list(demo.collect(cursor, now))
        cursor = batches[-1].cursor if batches else cursor
        _cycle(engine, model, brand, [m for b in batches for m in b.mentions], now)

    [alert] = _incident_alerts(engine)  # one alert, however much the incident grew
    detected = (alert.created_at - epoch).total_seconds() / 60
    assert INCIDENT_AFTER <= detected <= INCIDENT_AFTER + DETECTED_WITHIN
    with engine.connect() as conn:
        [incident] = conn.execute(select(Incident)).all()
        members = conn.execute(
            select(Mention.external_id)
            .join(IncidentMention, IncidentMention.mention_id == Mention.id)
            .where(IncidentMention.incident_id == incident.id)
        ).scalars().all()
    from_incident = [int(x.rsplit("-", 1)[1]) >= 100 for x in members]
    assert sum(from_incident) / len(from_incident) >= 0.9  # precision
    assert incident.size == len(members) >= 20 and incident.authors >= 15
    assert len(incident.languages) >= 2  # one cause, several languages
    themes = [set(name.split(" / ")) for name in incident.terms]
    assert {"subscription", "abonnement"} & set().union(*themes[:3])
    assert any({"amende", "boete"} <= theme for theme in themes), incident.terms  # one theme
    named = incident.title.split(":", 1)[1]
    assert "amende" in named or "boete" in named
    words = set(named.replace("/", " ").replace("·", " ").split())
    assert not any(words & stop_words(lang) for lang in incident.languages)  # content words
    assert 0 < incident.risk <= 1 and incident.reasons
    assert alert.details["incident_id"] == incident.id
    assert alert.details["similar_count"] >= 6 and alert.details["examples"]
    assert alert.details["top_terms"] and alert.details["risk_reasons"]


def _support_tweets() -> list[MentionIn]:
    """Customers' tweets to brands' support accounts, re-timed to two a minute."""
    path = shared_path("support-tweets", "twcs-first5000.csv")
    with path.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["inbound"] == "True"]
    parsed = sorted(rows, key=lambda r: datetime.strptime(r["created_at"],
                                                          "%a %b %d %H:%M:%S %z %Y"))
    start = datetime(2026, 11, 20, tzinfo=UTC)
    return [
        MentionIn(source="twcs", external_id=r["tweet_id"], brand="Support", text=r["text"],
                  created_at=start + timedelta(seconds=30 * i), author=r["author_id"],
                  language="en")
        for i, r in enumerate(parsed)
    ]


def test_replaying_real_support_traffic_raises_no_incident_storm(engine, model):
    brand = Brand(name="Support", keywords=["support"])
    tweets = _support_tweets()
    step = timedelta(minutes=10)
    now = tweets[0].created_at
    pending = list(tweets)
    queued = 0
    while pending:
        now += step
        due = [m for m in pending if m.created_at <= now]
        pending = pending[len(due):]
        queued += _cycle(engine, model, brand, due, now)
    with engine.connect() as conn:
        incidents = conn.execute(select(func.count()).select_from(Incident)).scalar_one()
    assert len(tweets) > 2500
    assert incidents <= 3, f"{incidents} incidents from {len(tweets)} unrelated complaints"
    assert len(_incident_alerts(engine)) == incidents


def test_clusters_are_groups_of_one_meaning():
    texts = ["I was fined although my yearly subscription is paid",
             "Amende alors que mon abonnement annuel est payé",
             "Boete ondanks mijn betaalde jaarabonnement",
             "The app crashes every time I try to pay",
             "L'appli plante à chaque paiement"]
    labels = cluster(CACHE.embed(texts), 0.45)
    assert labels[0] == labels[1] == labels[2] != labels[3]
    assert np.unique(labels).size >= 2
