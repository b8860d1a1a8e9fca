"""Score stage: give every new mention a sentiment, complaint and intent reading, in batches.

The star rating a source stored (app stores, review sites) goes to the model with the text: it is
evidence the model weighs. Rows carry the model id, so ``rescore`` after a model change redoes
only what the old model read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, bindparam, delete, exists, select, update

from monitor.storage.tables import Mention, Sentiment, utcnow

log = logging.getLogger(__name__)


class Model(Protocol):
    model_id: str

    def predict(self, texts: list[str], ratings: list[int | None] | None = None) -> list[Any]: ...


Claimed = tuple[int, str, int | None]  # mention id, text, star rating


@cache
def load_model(name: str | None = None) -> Model:
    """The sentiment model, loaded once per process (loading is the slow part)."""
    from models import sentiment

    model = sentiment.load(name)
    log.info("sentiment model loaded: %s", model.model_id)
    return model


def _claim(conn: Connection, model_id: str, limit: int) -> list[Claimed]:
    """Lock a batch of unscored mentions; other workers skip them instead of waiting."""
    scored = exists().where(Sentiment.mention_id == Mention.id, Sentiment.model_id == model_id)
    query = (
        select(Mention.id, Mention.text, Mention.rating)
        .where(~scored)
        .order_by(Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Mention.__table__)
    )
    return [(i, t, r) for i, t, r in conn.execute(query)]


def _write(
    conn: Connection,
    model: Model,
    rows: list[Claimed],
    predictions: list[Any],
    now: datetime,
) -> None:
    ids = [i for i, _, _ in rows]
    values = [
        {
            "mention_id": i,
            "label": p.label,
            "score": float(p.score),
            "is_complaint": bool(p.is_complaint),
            "complaint_score": float(p.complaint_score),
            "intent": getattr(p, "intent", None),
            "model_id": model.model_id,
            "scored_at": now,
        }
        for i, p in zip(ids, predictions, strict=True)
    ]
    conn.execute(delete(Sentiment).where(Sentiment.mention_id.in_(ids)))
    conn.execute(Sentiment.__table__.insert(), values)
    languages = [
        {"mid": i, "lang": p.language}
        for i, p in zip(ids, predictions, strict=True)
        if p.language and p.language != "und"
    ]
    if languages:
        table = Mention.__table__
        fill = update(table).where(table.c.id == bindparam("mid"), table.c.language.is_(None))
        conn.execute(fill.values(language=bindparam("lang")), languages)


def score_pending(
    engine: Engine,
    model: Model,
    batch_size: int = 256,
    now: Callable[[], datetime] = utcnow,
    max_batches: int | None = None,
) -> int:
    """Score mentions without a reading from ``model``; returns how many were scored."""
    done = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        scored = _score_batch(engine, model, batch_size, now)
        if not scored:
            break
        done += scored
        batches += 1
    return done


def _score_batch(engine: Engine, model: Model, size: int, now: Callable[[], datetime]) -> int:
    """Claim, predict and write one batch.

    On PostgreSQL the claim's row locks are held while predicting, so concurrent workers take
    other batches and a dead worker's claim is released by its rollback. SQLite has one writer
    and cannot upgrade a stale read to a write, so there the prediction runs between a plain
    read and a short write (a rare concurrent rescoring is harmless: the write replaces rows).
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            rows = _claim(conn, model.model_id, size)
            if rows:
                _write(conn, model, rows, _predict(model, rows), now())
        return len(rows)
    with engine.connect() as conn:
        rows = _claim(conn, model.model_id, size)
    if rows:
        predictions = _predict(model, rows)
        with engine.begin() as conn:
            _write(conn, model, rows, predictions, now())
    return len(rows)


def _predict(model: Model, rows: list[Claimed]) -> list[Any]:
    """The model's readings of claimed rows, each text with its star rating (or None)."""
    return model.predict([t for _, t, _ in rows], [r for _, _, r in rows])
