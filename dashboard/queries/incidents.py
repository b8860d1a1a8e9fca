"""Incidents page: bursts of similar complaints, their growth, members and milestones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    func,
    literal_column,
    or_,
    select,
)

from dashboard.queries.shared import (
    IM,
    A,
    E,
    I,
    M,
    R,
    View,
    as_utc,
    aware,
    latest_engagement,
    mention_columns,
    to_frame,
)
from monitor.timebins import binned

MAX_GROWTH_TIMES = 100_000


def incidents(
    engine: Engine, brands: Sequence[str], since: datetime, *, open_only: bool = False
) -> pd.DataFrame:
    """Incidents still active since ``since``, riskiest first, with their representative post."""
    query = (
        select(
            I.c.id,
            I.c.brand,
            I.c.title,
            I.c.status,
            I.c.size,
            I.c.authors,
            I.c.languages,
            I.c.terms,
            I.c.risk,
            I.c.reasons,
            I.c.first_seen,
            I.c.last_seen,
            I.c.answered_at,
            I.c.historical,
            I.c.representative_id,
            M.c.text.label("representative_text"),
        )
        .select_from(I.outerjoin(M, M.c.id == I.c.representative_id))
        .where(I.c.brand.in_(brands), I.c.last_seen >= since)
        .order_by(I.c.risk.desc(), I.c.last_seen.desc())
        .limit(200)
    )
    if open_only:  # what a backfill found stays in view: it is news to whoever looks
        query = query.where(or_(I.c.status == "open", I.c.historical))
    return to_frame(engine, query)


def incident_growth(engine: Engine, incident_id: int) -> tuple[timedelta, pd.DataFrame]:
    """Mentions of one incident per bin, bins fitting its length (see monitor.timebins)."""
    query = (
        select(M.c.created_at)
        .select_from(IM.join(M, M.c.id == IM.c.mention_id))
        .where(IM.c.incident_id == incident_id)
        .limit(MAX_GROWTH_TIMES)
    )
    with engine.connect() as conn:
        width, bins = binned(list(conn.execute(query).scalars()))
    frame = pd.DataFrame(bins, columns=["bucket", "mentions"])
    return width, as_utc(frame, "bucket")


def incident_languages(engine: Engine, incident_id: int) -> pd.DataFrame:
    language = func.coalesce(M.c.language, literal_column("'?'")).label("lang")
    query = (
        select(language, func.count().label("mentions"))
        .select_from(IM.join(M, M.c.id == IM.c.mention_id))
        .where(IM.c.incident_id == incident_id)
        .group_by(literal_column("lang"))
        .order_by(func.count().desc())
    )
    return to_frame(engine, query)


def incident_members(engine: Engine, incident_id: int, limit: int = 300) -> pd.DataFrame:
    """The incident's mentions, most reshared first (the representative ones lead)."""
    view = View()
    reshares = latest_engagement(E.c.reshares)
    query = (
        select(*mention_columns(view), reshares.label("reshares"))
        .select_from(view.joined(IM.join(M, M.c.id == IM.c.mention_id)))
        .where(IM.c.incident_id == incident_id)
        .order_by(func.coalesce(reshares, 0).desc(), M.c.created_at)
        .limit(limit)
    )
    return to_frame(engine, query)


def incident_events(engine: Engine, incident_id: int) -> pd.DataFrame:
    """Milestones of an incident: first post, alerts raised and sent, first public answer."""
    members = select(IM.c.mention_id).where(IM.c.incident_id == incident_id)
    span = select(func.min(M.c.created_at), func.max(M.c.created_at)).where(M.c.id.in_(members))
    answered = select(func.min(R.c.answered_at)).where(R.c.mention_id.in_(members))
    alerts = select(A.c.created_at, A.c.sent_at, A.c.kind, A.c.status).where(
        A.c.mention_id.in_(members)
    )
    events: list[tuple[Any, str]] = []
    with engine.connect() as conn:
        first, last = conn.execute(span).one()
        first_answer = conn.execute(answered).scalar()
        incident_answer = conn.execute(
            select(I.c.answered_at).where(I.c.id == incident_id)
        ).scalar()
        for created, sent, kind, status in conn.execute(alerts):
            events.append((created, f"{kind} alert raised ({status})"))
            if sent is not None:
                events.append((sent, f"{kind} alert delivered"))
    events += [(first, "first mention"), (last, "latest mention")]
    events += [(first_answer, "first public answer"), (incident_answer, "incident answered")]
    rows = sorted((aware(t), what) for t, what in events if t is not None)
    return pd.DataFrame(rows, columns=["time", "event"])
