"""Live page: the newest mentions, their counts per label and the filters' values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    func,
    literal_column,
    select,
)

from dashboard.queries.shared import (
    LABELS,
    UNSCORED,
    E,
    M,
    MentionFilter,
    S,
    View,
    distinct_values,
    latest_engagement,
    mention_columns,
    to_frame,
)


def feed(engine: Engine, f: MentionFilter, limit: int = 200) -> pd.DataFrame:
    """The newest mentions matching ``f``, newest first, with their latest engagement."""
    view = View()
    query = (
        select(
            *mention_columns(view),
            latest_engagement(E.c.reshares).label("reshares"),
            latest_engagement(E.c.likes).label("likes"),
        )
        .select_from(view.joined())
        .where(*view.conditions(f))
        .order_by(M.c.created_at.desc(), M.c.id.desc())
        .limit(limit)
    )
    return to_frame(engine, query)


def sentiment_counts(engine: Engine, f: MentionFilter) -> dict[str, int]:
    """How many mentions match ``f`` per label (the sentiment filter itself is not applied)."""
    view = View()
    query = (
        select(view.label.label("sentiment"), func.count())
        .select_from(view.joined())
        .where(*view.conditions(f, with_sentiment=False))
        .group_by(literal_column("sentiment"))
    )
    with engine.connect() as conn:
        found = {row[0]: int(row[1]) for row in conn.execute(query)}
    return {key: found.get(key, 0) for key in (*LABELS, UNSCORED)}



def facet_values(engine: Engine, brands: Sequence[str], since: datetime) -> dict[str, list[str]]:
    """Sources and languages of the brands' mentions since ``since`` (the feed's filters)."""
    out = {}
    with engine.connect() as conn:
        for name in ("source", "language"):
            column = M.c[name]
            seen = [
                value
                for value in distinct_values(conn, column)
                if conn.execute(
                    select(M.c.id)
                    .where(column == value, M.c.brand.in_(brands), M.c.created_at >= since)
                    .limit(1)
                ).first()
            ]
            out[name] = sorted(seen)
    return out


def has_mentions(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(M.c.id).limit(1)).first() is not None


def newest_mention_at(engine: Engine, brands: Sequence[str]) -> datetime | None:
    """When the brands' newest mention was published (the (brand, created_at) index's end)."""
    query = select(func.max(M.c.created_at)).where(M.c.brand.in_(brands))
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def mention(engine: Engine, mention_id: int) -> dict[str, Any] | None:
    """One mention with its reading and response state, for the action panel."""
    view = View()
    query = (
        select(*mention_columns(view), S.c.model_id, S.c.label.label("model_label"))
        .select_from(view.joined())
        .where(M.c.id == mention_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None
