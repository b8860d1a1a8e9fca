"""What incident detection reads and writes: complaints, open incidents, members, figures.

The only module of incident detection that speaks SQL, so the grouping and naming logic stay
plain Python over plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.detection.grouping import Complaint, OpenIncident
from monitor.storage.tables import (
    Forecast,
    Incident,
    IncidentMention,
    Mention,
    Response,
    Sentiment,
)

LOW_RATING = 2


def _complaints(brand: str, start: datetime, end: datetime, limit: int, *columns: Any) -> Any:
    """The brand's complaints published in [start, end), the most recent ``limit`` of them:
    flagged so, negative (the complaint flag misses some), or rated one or two stars (a short
    review's words may say little, its stars say it)."""
    return (
        select(*columns)
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .where(Mention.brand == brand, Mention.created_at >= start, Mention.created_at < end,
               or_(Sentiment.is_complaint.is_(True), Sentiment.label == "negative",
                   Mention.rating <= LOW_RATING))
        .order_by(Mention.created_at.desc())
        .limit(limit)
    )


def complaints(
    conn: Connection, brand: str, start: datetime, end: datetime, limit: int
) -> list[Complaint]:
    """The complaints of [start, end) with what an incident shows of them, oldest first."""
    query = _complaints(brand, start, end, limit, Mention.id, Mention.created_at, Mention.author,
                        Mention.language, Mention.text, Mention.url, Mention.source,
                        Mention.rating, Sentiment.label, Sentiment.score)
    found = [
        Complaint(r.id, r.created_at, r.author, r.language, r.text, r.url,
                  r.score if r.label == "negative" else 0.0, r.source, r.rating)
        for r in conn.execute(query)
    ]
    return found[::-1]


def earlier(conn: Connection, brand: str, start: datetime, end: datetime, limit: int) -> list[Any]:
    """The complaints of [start, end) as rows of (created_at, text, language), oldest first:
    all the usual rate of each meaning and the background of titles need, read cheaply."""
    query = _complaints(brand, start, end, limit, Mention.created_at, Mention.text,
                        Mention.language)
    return conn.execute(query).all()[::-1]


def history_start(conn: Connection, brand: str) -> datetime | None:
    return conn.execute(select(func.min(Mention.created_at)).where(Mention.brand == brand)).scalar()


def open_incidents(conn: Connection, brand: str) -> list[OpenIncident]:
    query = select(Incident.id, Incident.centroid, Incident.size, Incident.first_seen).where(
        Incident.brand == brand, Incident.status == "open"
    )
    return [
        OpenIncident(r.id, np.asarray(r.centroid["vector"], dtype=np.float32), r.size,
                     r.first_seen)
        for r in conn.execute(query)
        if r.centroid and r.centroid.get("vector")
    ]


def members_of_any(conn: Connection, mention_ids: list[int]) -> set[int]:
    """Which of these mentions already belong to an incident."""
    found: set[int] = set()
    for start in range(0, len(mention_ids), 1000):
        chunk = mention_ids[start : start + 1000]
        query = select(IncidentMention.mention_id).where(IncidentMention.mention_id.in_(chunk))
        found.update(conn.execute(query).scalars())
    return found


def add_members(conn: Connection, incident_id: int, mention_ids: list[int]) -> None:
    if not mention_ids:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(IncidentMention.__table__).on_conflict_do_nothing()
    conn.execute(stmt, [{"incident_id": incident_id, "mention_id": m} for m in mention_ids])


def member_texts(conn: Connection, incident_id: int, limit: int = 500) -> list[tuple[str, str]]:
    """(text, language) of an incident's members, the newest ``limit``."""
    query = (
        select(Mention.text, Mention.language)
        .join(IncidentMention, IncidentMention.mention_id == Mention.id)
        .where(IncidentMention.incident_id == incident_id)
        .order_by(Mention.created_at.desc())
        .limit(limit)
    )
    return [(r.text, r.language) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class Stats:
    """An incident's figures, recomputed from its members."""

    size: int
    authors: int
    languages: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    answered_at: datetime | None
    negativity: float
    max_predicted: float


def stats(conn: Connection, incident_id: int) -> Stats:
    members = select(IncidentMention.mention_id).where(IncidentMention.incident_id == incident_id)
    row = conn.execute(
        select(func.count(), func.count(func.distinct(Mention.author)),
               func.min(Mention.created_at), func.max(Mention.created_at))
        .where(Mention.id.in_(members))
    ).one()
    languages = dict(conn.execute(
        select(Mention.language, func.count())
        .where(Mention.id.in_(members)).group_by(Mention.language)
    ).all())
    answered = conn.execute(
        select(func.min(Response.answered_at)).where(Response.mention_id.in_(members))
    ).scalar()
    negativity = conn.execute(
        select(func.avg(Sentiment.score)).where(
            Sentiment.mention_id.in_(members), Sentiment.label == "negative"
        )
    ).scalar()
    predicted = conn.execute(
        select(func.max(Forecast.final)).where(Forecast.mention_id.in_(members))
    ).scalar()
    return Stats(row[0], row[1], {k or "?": int(v) for k, v in languages.items()}, row[2], row[3],
                 answered, float(negativity or 0.0), float(predicted or 0.0))


def recent_members(conn: Connection, incident_id: int, since: datetime) -> int:
    return conn.execute(
        select(func.count()).select_from(IncidentMention)
        .join(Mention, Mention.id == IncidentMention.mention_id)
        .where(IncidentMention.incident_id == incident_id, Mention.created_at >= since)
    ).scalar_one()


def create(conn: Connection, brand: str, centroid: np.ndarray, facts: dict[str, Any],
           representative: int, members: list[int], now: datetime) -> int:
    incident_id = conn.execute(
        Incident.__table__.insert().returning(Incident.id),
        {
            "brand": brand, "title": "", "terms": {}, "representative_id": representative,
            "centroid": {"vector": [round(float(v), 5) for v in centroid]} | facts,
            "status": "open", "size": 0, "authors": 0, "languages": {}, "risk": 0.0,
            "reasons": {}, "first_seen": now, "last_seen": now,
        },
    ).scalar_one()
    add_members(conn, incident_id, members)
    return incident_id


def incident_row(conn: Connection, incident_id: int) -> Any:
    return conn.execute(select(Incident.terms, Incident.centroid, Incident.title)
                        .where(Incident.id == incident_id)).one()


def save(conn: Connection, incident_id: int, **values: Any) -> None:
    conn.execute(update(Incident).where(Incident.id == incident_id).values(**values))


def grow(conn: Connection, incident: OpenIncident) -> None:
    """Store the new members and the centroid they moved."""
    add_members(conn, incident.id, incident.new)
    centroid = incident.grown_centroid()
    row = conn.execute(select(Incident.centroid).where(Incident.id == incident.id)).scalar_one()
    save(conn, incident.id,
         centroid=(row or {}) | {"vector": [round(float(v), 5) for v in centroid]})


def close_quiet(conn: Connection, brand: str, now: datetime, after_hours: float) -> None:
    quiet = now - timedelta(hours=after_hours)
    conn.execute(update(Incident).where(
        Incident.brand == brand, Incident.status == "open", Incident.last_seen < quiet
    ).values(status="closed"))
