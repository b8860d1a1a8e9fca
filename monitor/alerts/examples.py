"""The 3 to 5 mentions an alert quotes: what people actually said, in their words and stars.

A number alone ("14 similar complaints") asks the reader to open the dashboard; a few quotes let
them judge from the email. For an incident they come from its members, for a spike from the
window that spiked (negative ones first), spread over languages and sources so a French and
Dutch incident shows both. Text is returned raw: renderers escape it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, select

from monitor.storage.tables import IncidentMention, Mention, Sentiment

MAX_EXAMPLES = 5
CANDIDATES = 300


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    author: str | None
    url: str | None
    language: str | None
    rating: int | None = None
    source: str | None = None


def stars(rating: int | None) -> str:
    """★★☆☆☆ for 2 of 5; empty without a rating."""
    if rating is None or not 1 <= rating <= 5:
        return ""
    return "★" * rating + "☆" * (5 - rating)


def diverse(candidates: list[Example], limit: int = MAX_EXAMPLES) -> list[Example]:
    """The first candidate, then one per language and source not yet shown, then the next ones
    in order; no text twice."""
    picked: list[Example] = []
    texts: set[str] = set()

    def take(example: Example) -> None:
        key = " ".join(example.text.split()).casefold()
        if len(picked) < limit and key not in texts:
            picked.append(example)
            texts.add(key)

    for example in candidates[:1]:
        take(example)
    for field in ("language", "source"):
        for example in candidates:
            if getattr(example, field) not in {getattr(p, field) for p in picked}:
                take(example)
    for example in candidates:
        take(example)
    return picked


def _query(conn: Connection, where: list[Any]) -> list[Example]:
    negative_first = case((Sentiment.label == "negative", 0), else_=1)
    query = (
        select(Mention.text, Mention.author, Mention.url, Mention.language, Mention.rating,
               Mention.source)
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .where(*where)
        .order_by(negative_first, Mention.created_at.desc())
        .limit(CANDIDATES)
    )
    return [Example(r.text, r.author, r.url, r.language, r.rating, r.source)
            for r in conn.execute(query)]


def from_details(details: dict[str, Any]) -> list[Example]:
    """What the detector chose (its most typical mention first)."""
    items = details.get("examples")
    if not isinstance(items, list):
        return []
    return [
        Example(str(e.get("text", "")), e.get("author"), e.get("url"), e.get("language"),
                e.get("rating") if isinstance(e.get("rating"), int) else None, e.get("source"))
        for e in items
        if isinstance(e, dict) and e.get("text")
    ]


def _window(details: dict[str, Any]) -> tuple[datetime, datetime] | None:
    try:
        start = datetime.fromisoformat(str(details["window_start"]))
        return start, start + timedelta(minutes=int(details["window_minutes"]))
    except (KeyError, TypeError, ValueError):
        return None


def examples_for(conn: Connection, brand: str, details: dict[str, Any]) -> list[Example]:
    """Up to 5 quotes for an incident or a spike: the detector's choice first, completed (and
    given stars) from the incident's members or the spike's window."""
    chosen = from_details(details)
    where: list[Any] | None = None
    if details.get("incident_id") is not None:
        members = select(IncidentMention.mention_id).where(
            IncidentMention.incident_id == details["incident_id"]
        )
        where = [Mention.id.in_(members)]
    elif (window := _window(details)) is not None:
        where = [Mention.brand == brand, Mention.created_at >= window[0],
                 Mention.created_at < window[1]]
    if where is None:
        return diverse(chosen)
    extra = _query(conn, where)
    ratings = {e.text: (e.rating, e.source) for e in extra}
    chosen = [e if e.rating is not None or e.text not in ratings else
              Example(e.text, e.author, e.url, e.language, *ratings[e.text]) for e in chosen]
    return diverse(chosen + extra)
