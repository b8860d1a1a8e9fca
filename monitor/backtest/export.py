"""The mentions export: one JSON object a line, what a backtest (or another tool) reads back.

Fields: source, external_id, brand, created_at, author, author_followers, text, url, language,
rating, parent_id, thread_id, and ``engagement``: every snapshot seen (likes, reshares, replies,
views, observed_at), oldest first, so a replay sees a post spread as it did. Read in id order, a
chunk at a time, so a million mentions stream in bounded memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import Engine, select

from monitor.storage.tables import EngagementSnapshot, Mention

CHUNK = 2000
FIELDS = ("source", "external_id", "brand", "created_at", "author", "author_followers", "text",
          "url", "language", "rating", "parent_id", "thread_id")
ENGAGEMENT = ("likes", "reshares", "replies", "views")


@dataclass(frozen=True, slots=True)
class Selection:
    """Which mentions to export; empty tuples and None mean no restriction."""

    brands: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


def _conditions(selection: Selection) -> list[Any]:
    found = []
    if selection.brands:
        found.append(Mention.brand.in_(selection.brands))
    if selection.sources:
        found.append(Mention.source.in_(selection.sources))
    if selection.since is not None:
        found.append(Mention.created_at >= selection.since)
    if selection.until is not None:
        found.append(Mention.created_at < selection.until)
    return found


def _engagement(engine: Engine, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each mention's snapshots, oldest first."""
    snap = EngagementSnapshot
    query = (
        select(snap.mention_id, snap.observed_at, *(getattr(snap, k) for k in ENGAGEMENT))
        .where(snap.mention_id.in_(ids))
        .order_by(snap.mention_id, snap.observed_at, snap.id)
    )
    found: dict[int, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            found.setdefault(r.mention_id, []).append(
                {"observed_at": r.observed_at.isoformat(), **{k: getattr(r, k) for k in ENGAGEMENT}}
            )
    return found


def records(engine: Engine, selection: Selection) -> Iterator[dict[str, Any]]:
    """The selected mentions as export records, oldest id first."""
    after = 0
    while True:
        query = (
            select(Mention.id, *(getattr(Mention, f) for f in FIELDS))
            .where(Mention.id > after, *_conditions(selection))
            .order_by(Mention.id)
            .limit(CHUNK)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return
        engagement = _engagement(engine, [r.id for r in rows])
        for row in rows:
            record = {f: getattr(row, f) for f in FIELDS}
            record["created_at"] = row.created_at.isoformat()
            if row.id in engagement:
                record["engagement"] = engagement[row.id]
            yield record
        after = rows[-1].id


def write_jsonl(engine: Engine, selection: Selection, out: TextIO) -> int:
    """Write the selection, one object a line; returns how many were written."""
    count = 0
    for record in records(engine, selection):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
