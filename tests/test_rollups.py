"""The hourly rollup against the mentions themselves, on a SQLite file and the local PostgreSQL:
equal after inserts, scoring and rescoring, corrections, response changes and a rebuild; and the
dashboard's counts equal with and without it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from dashboard import queries
from monitor.scoring import score_pending
from monitor.storage import rollups
from monitor.storage.tables import (
    Mention,
    MentionHourly,
    Response,
    RollupCursor,
    Sentiment,
    SentimentCorrection,
)

NOW = datetime(2026, 11, 23, 12, 40, tzinfo=UTC)
SOURCES = ("x", "reddit", "playstore")
LANGUAGES = ("fr", "nl", None)


@dataclass
class FlipModel:
    """A stand-in sentiment model: every n-th text negative and a complaint, others positive."""

    model_id: str
    every: int

    def predict(self, texts: list[str], ratings: list[int | None] | None = None) -> list[Any]:
        return [self._read(int(text.split("#")[1])) for text in texts]

    def _read(self, n: int) -> Any:
        bad = n % self.every == 0
        return SimpleNamespace(
            label="negative" if bad else "positive",
            score=0.9,
            is_complaint=bad,
            complaint_score=0.9 if bad else 0.1,
            language="en",
        )


def add_mentions(engine: Engine, first: int, count: int, newest: datetime) -> list[int]:
    """``count`` mentions, 37 minutes apart back from ``newest``, over two brands."""
    rows = [
        {
            "source": SOURCES[n % 3],
            "external_id": f"m{n}",
            "brand": "Parkeo" if n % 4 else "StreetPay",
            "text": f"mention #{n}",
            "language": LANGUAGES[n % 3],
            "created_at": newest - timedelta(minutes=37 * (n - first)),
            "collected_at": newest,
        }
        for n in range(first, first + count)
    ]
    with engine.begin() as conn:
        return [
            conn.execute(insert(Mention).values(r).returning(Mention.id)).scalar_one() for r in rows
        ]


def expected(engine: Engine) -> Counter:
    """The rollup recomputed in Python from every mention, reading, correction and response."""
    with engine.connect() as conn:
        readings = {r.mention_id: r for r in conn.execute(select(Sentiment))}
        latest = {}
        for c in conn.execute(select(SentimentCorrection).order_by(SentimentCorrection.id)):
            latest[c.mention_id] = c
        states = {r.mention_id: r.status for r in conn.execute(select(Response))}
        mentions = list(conn.execute(select(Mention)))
    counts: Counter = Counter()
    for m in mentions:
        reading, fix = readings.get(m.id), latest.get(m.id)
        label = fix.label if fix else reading.label if reading else "unscored"
        complaint = (
            fix.is_complaint
            if fix and fix.is_complaint is not None
            else (bool(reading.is_complaint) if reading else False)
        )
        hour = m.created_at.replace(minute=0, second=0, microsecond=0)
        key = (
            m.brand,
            hour,
            m.source,
            m.language or "?",
            label,
            complaint,
            states.get(m.id, "new"),
        )
        counts[key] += 1
    return counts


def stored(engine: Engine) -> Counter:
    counts: Counter = Counter()
    with engine.connect() as conn:
        for r in conn.execute(select(MentionHourly)):
            key = (r.brand, r.hour, r.source, r.language, r.label, bool(r.complaint), r.state)
            counts[key] = r.mentions
    return counts


def assert_exact(engine: Engine) -> None:
    assert stored(engine) == expected(engine)


def test_refresh_follows_inserts_scoring_rescoring_and_rebuild(engine: Engine):
    ids = add_mentions(engine, 0, 60, NOW)
    rollups.refresh(engine)  # first call: a full build, every mention still unscored
    assert_exact(engine)
    assert sum(stored(engine).values()) == 60

    score_pending(engine, FlipModel("model-a", 3), now=lambda: NOW)
    add_mentions(engine, 60, 10, NOW + timedelta(hours=5))  # new hours, and old ones again
    rollups.refresh(engine)
    assert_exact(engine)
    assert {key[4] for key in stored(engine)} == {"negative", "positive", "unscored"}

    score_pending(engine, FlipModel("model-b", 2), now=lambda: NOW + timedelta(hours=1))
    rollups.refresh(engine)  # every reading replaced: every bucket recomputed
    assert_exact(engine)
    rollups.refresh(engine)  # nothing new: unchanged
    assert_exact(engine)

    with engine.begin() as conn:  # behind the rollup's back: only a rebuild sees it
        conn.execute(delete(Mention).where(Mention.id == ids[5]))
    assert stored(engine) != expected(engine)
    rollups.rebuild(engine)
    assert_exact(engine)


def test_dashboard_actions_update_the_rollup_at_once(engine: Engine):
    ids = add_mentions(engine, 0, 30, NOW)
    score_pending(engine, FlipModel("model-a", 3), now=lambda: NOW)
    rollups.refresh(engine)
    queries.correct_sentiment(engine, ids[3], "neutral", False, "Kim", NOW)
    assert_exact(engine)
    queries.assign(engine, ids[6], "Kim", NOW)
    queries.mark_answered(engine, ids[9], "https://x.example/r/9", NOW)
    queries.dismiss(engine, ids[12], NOW)
    assert_exact(engine)
    queries.reopen(engine, ids[12], NOW)
    assert_exact(engine)


def test_late_commits_within_the_lag_are_seen(engine: Engine):
    ids = add_mentions(engine, 0, 20, NOW)
    score_pending(engine, FlipModel("model-a", 2), now=lambda: NOW)
    queries.assign(engine, ids[0], "Kim", NOW)
    rollups.refresh(engine)
    with engine.begin() as conn:  # written by a transaction that began before the last refresh
        values = {
            "mention_id": ids[2],
            "status": "answered",
            "updated_at": NOW - timedelta(minutes=5),
        }
        conn.execute(insert(Response).values(**values, answered_at=NOW))
        conn.execute(
            update(Sentiment)
            .where(Sentiment.mention_id == ids[4])
            .values(label="neutral", scored_at=NOW - timedelta(minutes=3))
        )
    rollups.refresh(engine)
    assert_exact(engine)


def test_a_refresh_before_the_build_builds(engine: Engine):
    add_mentions(engine, 0, 5, NOW)
    with engine.connect() as conn:
        assert not rollups.is_built(conn)
    queries.dismiss(engine, 1, NOW)  # before the build: nothing to keep up to date yet
    with engine.connect() as conn:
        assert not rollups.is_built(conn)
    rollups.refresh(engine)
    with engine.connect() as conn:
        assert rollups.is_built(conn)
    assert_exact(engine)


# --- the dashboard's counts: the same with the rollup as from the mentions ---------------------


def _without_rollup(engine: Engine, read: Any) -> Any:
    with engine.begin() as conn:
        cursor = conn.execute(select(RollupCursor)).one()._asdict()
        conn.execute(delete(RollupCursor))
    try:
        return read()
    finally:
        with engine.begin() as conn:
            conn.execute(insert(RollupCursor).values(**cursor))


@pytest.fixture
def scored(engine: Engine) -> list[int]:
    ids = add_mentions(engine, 0, 120, NOW)
    score_pending(engine, FlipModel("model-a", 3), now=lambda: NOW)
    for n, mention_id in enumerate(ids[::3]):
        if n % 3 == 0:
            queries.mark_answered(engine, mention_id, "", NOW - timedelta(minutes=n))
        elif n % 3 == 1:
            queries.assign(engine, mention_id, "Kim", NOW)
    queries.correct_sentiment(engine, ids[1], "negative", True, None, NOW)
    add_mentions(engine, 120, 3, NOW + timedelta(minutes=15))  # unscored, in the current hour
    rollups.refresh(engine)
    return ids


@pytest.mark.parametrize("grain", ["hour", "day", "week"])
@pytest.mark.parametrize("by", ["source", "language", "brand"])
def test_volume_equals_the_raw_count(engine: Engine, scored: list[int], grain: str, by: str):
    brands = ("Parkeo", "StreetPay")
    start, end = NOW - timedelta(days=2, minutes=17), NOW + timedelta(minutes=20)
    with_rollup = queries.volume(engine, brands, start, end, grain, by)
    raw = _without_rollup(engine, lambda: queries.volume(engine, brands, start, end, grain, by))
    assert with_rollup.to_dict("records") == raw.to_dict("records")
    assert with_rollup["mentions"].sum() == 79 + 3  # one per 37 min over 2 days 17 min, + 3


@pytest.mark.parametrize("sla", [60, 95, 125, 24 * 60])  # deadlines on and inside hours
def test_inbox_summary_equals_the_raw_count(engine: Engine, scored: list[int], sla: int):
    now = NOW + timedelta(minutes=20)
    for start in (NOW - timedelta(days=3, minutes=5), None):
        f = queries.InboxFilter(brands=("Parkeo",), start=start, sla_minutes=sla)
        with_rollup = queries.inbox_summary(engine, f, now)
        raw = _without_rollup(engine, lambda f=f: queries.inbox_summary(engine, f, now))
        assert with_rollup == raw
        assert with_rollup["open_overdue"] > 0
        assert with_rollup["counts"]["answered"] > 0
