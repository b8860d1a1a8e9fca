"""Idempotent ingest: the same mention twice is stored once and its engagement appended.

Written in SQLAlchemy Core with ``INSERT … ON CONFLICT DO NOTHING`` because the ingest path is
the hot one (bench/ingest.py) and both SQLite and PostgreSQL support it natively.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Insert, Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.mentions import Answer, Batch, MentionIn, Stream
from monitor.storage.normalise import SOURCE_CHARS, clean_id, clean_url, normalised
from monitor.storage.tables import CollectorState, EngagementSnapshot, Mention, Response

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class StoreResult:
    """How many of the given mentions were new; ``ids`` maps (source, external_id) to row id."""

    new: int
    ids: dict[tuple[str, str], int]


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


def _row(m: MentionIn, collected_at: datetime) -> dict[str, Any]:
    return {
        "source": m.source,
        "external_id": m.external_id,
        "brand": m.brand,
        "url": m.url,
        "author": m.author,
        "author_followers": m.author_followers,
        "text": m.text,
        "language": m.language,
        "rating": m.rating,
        "created_at": m.created_at,
        "collected_at": collected_at,
        "parent_id": m.parent_id,
        "thread_id": m.thread_id,
    }


def _ids_for(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Row ids of the given keys, queried per source so the unique index serves the lookup."""
    cols = Mention.__table__.c
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in keys:
        by_source[source].append(external_id)
    ids = {}
    for source, external_ids in by_source.items():
        query = select(cols.external_id, cols.id).where(
            cols.source == source, cols.external_id.in_(external_ids)
        )
        ids.update({(source, e): i for e, i in conn.execute(query)})
    return ids


def _snapshots(mentions: Iterable[MentionIn], ids: dict[tuple[str, str], int]) -> list[dict]:
    rows = []
    for m in mentions:
        e = m.engagement
        if e is None:
            continue
        rows.append(
            {
                "mention_id": ids[(m.source, m.external_id)],
                "observed_at": e.observed_at,
                "likes": e.likes,
                "reshares": e.reshares,
                "replies": e.replies,
                "views": e.views,
            }
        )
    return rows


def store_mentions(
    conn: Connection, mentions: Sequence[MentionIn], collected_at: datetime
) -> StoreResult:
    """Insert new mentions, skip known ones, append every engagement snapshot given. Every field
    is made storable first (``normalised``): the returned ids use the cleaned keys."""
    table = Mention.__table__
    mentions = [normalised(m) for m in mentions]
    unique = {(m.source, m.external_id): m for m in mentions}
    new, ids = 0, {}
    items = list(unique.values())
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        stmt = insert_ignore(conn, table).returning(
            table.c.source, table.c.external_id, table.c.id
        )
        inserted = {
            (s, e): i for s, e, i in conn.execute(stmt, [_row(m, collected_at) for m in chunk])
        }
        new += len(inserted)
        ids.update(inserted)
        known = [
            (m.source, m.external_id) for m in chunk if (m.source, m.external_id) not in inserted
        ]
        if known:
            ids.update(_ids_for(conn, known))
    snaps = _snapshots(mentions, ids)
    if snaps:
        conn.execute(EngagementSnapshot.__table__.insert(), snaps)
    return StoreResult(new=new, ids=ids)


def save_cursor(conn: Connection, key: str, source: str, brand: str | None, cursor: Any) -> None:
    """Create or move a collector's cursor, inside the caller's transaction."""
    table = CollectorState.__table__
    conn.execute(
        insert_ignore(conn, table),
        {
            "key": key,
            "source": source,
            "brand": brand,
            "last_items": 0,
            "items_total": 0,
            "consecutive_failures": 0,
        },
    )
    conn.execute(update(table).where(table.c.key == key).values(cursor=cursor))


def load_cursor(conn: Connection, key: str) -> dict[str, Any] | None:
    table = CollectorState.__table__
    return conn.execute(select(table.c.cursor).where(table.c.key == key)).scalar()


def store_batch(
    conn: Connection, stream: Stream, batch: Batch, collected_at: datetime
) -> StoreResult:
    """Mentions and the cursor that covers them, in the caller's single transaction."""
    result = store_mentions(conn, batch.mentions, collected_at)
    record_answers(conn, batch.answers, collected_at)
    if batch.cursor is not None:
        save_cursor(conn, stream.key, stream.source, stream.brand, batch.cursor)
    return result


def record_answers(conn: Connection, answers: Sequence[Answer], now: datetime) -> int:
    """Mark the mentions the brand answered itself; returns how many were known.

    The earliest answer time is kept (time to first response), a dismissed mention stays
    dismissed, and a reply URL someone entered is never overwritten. Answers to mentions not
    stored (filtered out, or older than the backfill) are ignored.
    """
    firsts: dict[tuple[str, str], Answer] = {}
    for a in sorted(answers, key=lambda a: a.answered_at, reverse=True):
        key = (clean_id(a.source, SOURCE_CHARS) or "", clean_id(a.external_id) or "")
        firsts[key] = replace(a, url=clean_url(a.url))
    ids = _ids_for(conn, list(firsts)) if firsts else {}
    if not ids:
        return 0
    table = Response.__table__
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [
        {
            "mention_id": ids[key],
            "status": "answered",
            "answered_at": a.answered_at,
            "reply_url": a.url,
            "updated_at": now,
        }
        for key, a in firsts.items()
        if key in ids
    ]
    insert = dialect.insert(table)
    new = insert.excluded
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["mention_id"],
            set_={
                "status": case((table.c.status == "dismissed", table.c.status), else_=new.status),
                "answered_at": func.coalesce(
                    case((table.c.answered_at < new.answered_at, table.c.answered_at)),
                    new.answered_at,
                ),
                "reply_url": func.coalesce(table.c.reply_url, new.reply_url),
                "updated_at": new.updated_at,
            },
        ),
        rows,
    )
    return len(rows)
