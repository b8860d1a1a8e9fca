"""Scoring on both databases: every mention read once per model, batches shared by workers."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from monitor.mentions import MentionIn
from monitor.scoring import load_model, score_pending
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import store_mentions
from monitor.storage.tables import Mention, Sentiment

TEXTS = [
    "@Parkeo j'ai payé mon abonnement et je reçois une amende, c'est scandaleux",
    "Bedankt @Parkeo, de app werkt perfect!",
    "Is the Parkeo office open on Saturday?",
]


def _seed(engine, now, n: int, language: str | None = None) -> None:
    mentions = [
        MentionIn(source="x", external_id=str(i), brand="Parkeo", text=TEXTS[i % len(TEXTS)],
                  created_at=now - timedelta(minutes=i), language=language)
        for i in range(n)
    ]
    with engine.begin() as conn:
        store_mentions(conn, mentions, now)


@dataclass(frozen=True)
class _Reading:
    label: str = "neutral"
    score: float = 0.9
    language: str = "fr"
    is_complaint: bool = False
    complaint_score: float = 0.1
    intent: str = "other"


class GatedModel:
    """A stand-in model whose predict blocks until released, to hold a batch's claim open."""

    model_id = "gated-test-model"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def predict(self, texts: list[str], ratings: list[int | None] | None = None) -> list[_Reading]:
        self.entered.set()
        assert self.release.wait(30)
        return [_Reading() for _ in texts]


def test_real_model_scores_every_mention_once_and_fills_language(engine, now):
    _seed(engine, now, 9)
    model = load_model(None)
    assert score_pending(engine, model, batch_size=4) == 9
    assert score_pending(engine, model, batch_size=4) == 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(Mention.text, Sentiment.label, Sentiment.model_id, Mention.language)
            .join(Sentiment, Sentiment.mention_id == Mention.id)
        ).all()
    assert len(rows) == 9 and {r.model_id for r in rows} == {model.model_id}
    labels = {r.text: r.label for r in rows}
    assert labels[TEXTS[0]] == "negative" and labels[TEXTS[1]] == "positive"
    assert {r.language for r in rows} <= {"fr", "nl", "en"}


class RecordingModel:
    """A stand-in that remembers the rating each text came with and calls every text a
    question, to check what scoring hands the model and stores."""

    model_id = "recording-test-model"

    def __init__(self) -> None:
        self.seen: dict[str, int | None] = {}

    def predict(self, texts: list[str], ratings: list[int | None] | None = None) -> list[_Reading]:
        self.seen.update(zip(texts, ratings or [None] * len(texts), strict=True))
        return [_Reading(intent="question") for _ in texts]


def test_stored_ratings_reach_the_model_and_intents_are_stored(engine, now):
    mentions = [
        MentionIn(source="appstore", external_id="r1", brand="Parkeo",
                  text="Broken since the update", created_at=now, rating=1),
        MentionIn(source="x", external_id="t1", brand="Parkeo", text="Is the office open?",
                  created_at=now),
    ]
    with engine.begin() as conn:
        store_mentions(conn, mentions, now)
    recording = RecordingModel()
    assert score_pending(engine, recording) == 2
    assert recording.seen == {"Broken since the update": 1, "Is the office open?": None}
    with engine.connect() as conn:
        assert set(conn.execute(select(Sentiment.intent)).scalars()) == {"question"}


def test_a_model_change_rescores(sqlite_engine, now):
    _seed(sqlite_engine, now, 3, language="fr")
    gated = GatedModel()
    gated.release.set()
    score_pending(sqlite_engine, gated)
    assert score_pending(sqlite_engine, load_model(None)) == 3
    with sqlite_engine.connect() as conn:
        models = conn.execute(select(func.count(func.distinct(Sentiment.model_id)))).scalar()
        count = conn.execute(select(func.count()).select_from(Sentiment)).scalar()
    assert (models, count) == (1, 3)


def test_postgres_workers_skip_each_others_claimed_batch(pg_url, now):
    engine = make_engine(pg_url)
    upgrade(engine)
    _seed(engine, now, 6)
    slow = GatedModel()
    worker = threading.Thread(target=score_pending, args=(engine, slow, 3),
                              kwargs={"max_batches": 1})
    worker.start()
    assert slow.entered.wait(30)
    fast = GatedModel()
    fast.release.set()
    try:
        # The first worker holds mentions 1-3; the second must take the others, not wait.
        assert score_pending(engine, fast, batch_size=3) == 3
    finally:
        slow.release.set()
        worker.join(30)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Sentiment)).scalar() == 6
    engine.dispose()


@pytest.mark.parametrize("text", ["", "x" * 100_000, "\u202e\u200b<script>", "🙂" * 50])
def test_real_model_survives_hostile_text(sqlite_engine, now, text):
    with sqlite_engine.begin() as conn:
        store_mentions(conn, [MentionIn(source="x", external_id="h", brand="Parkeo", text=text,
                                        created_at=now)], now)
    assert score_pending(sqlite_engine, load_model(None)) == 1
