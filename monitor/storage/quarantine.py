"""Items a source sent that could not be read, set aside with why instead of failing the page.

One bad review must cost only itself: the rest of its page is stored, the cursor moves on, and the
bad item waits here, as sent, for a person (``python -m monitor quarantine``, the Sources &
settings page). The same item in every poll of a feed is one row (keyed by a hash of its payload),
so it is logged once, when first seen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.mentions import MentionIn, Rejected, Stream
from monitor.storage.normalise import clean_text
from monitor.storage.tables import Quarantined

TABLE = Quarantined.__table__
MAX_PAYLOAD = 20_000
MAX_ERROR = 1_000


def payload_of(raw: Any) -> str:
    """The item as the service sent it, as JSON where it is JSON (objects as their attributes)."""
    if isinstance(raw, str):
        return raw[:MAX_PAYLOAD]
    try:
        return json.dumps(raw, default=_plain, ensure_ascii=False, sort_keys=True)[:MAX_PAYLOAD]
    except (TypeError, ValueError):
        return repr(raw)[:MAX_PAYLOAD]


def _plain(value: Any) -> Any:
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return {k: v for k, v in attributes.items() if not k.startswith("_")}
    return str(value)


def reject(raw: Any, error: BaseException | str) -> Rejected:
    """A :class:`Rejected` for ``raw`` and what went wrong reading it."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return Rejected(payload_of(raw), reason[:MAX_ERROR])


def problem(mention: MentionIn, source: str) -> str | None:
    """Why a collected mention cannot be stored, or None: the runner's check for every source."""
    if mention.source != source:
        return f"source is {mention.source!r}, not {source!r}"
    if not isinstance(mention.external_id, str) or not mention.external_id.strip():
        return "no id"
    if not isinstance(mention.text, str):
        return "no text"
    moment = mention.created_at
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return f"creation time {moment!r} is not an aware datetime"
    rating = mention.rating
    if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
        return f"rating {rating!r} is not 1 to 5"
    return None


def _insert_ignore(conn: Connection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(TABLE).on_conflict_do_nothing()


def put(conn: Connection, stream: Stream, items: list[Rejected], now: datetime) -> list[Rejected]:
    """Keep the items (in the caller's transaction); returns those never seen before."""
    first_time = []
    for item in items:
        payload = clean_text(item.payload, MAX_PAYLOAD)
        fingerprint = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        row = {
            "source": stream.source,
            "collector": stream.key,
            "brand": stream.brand,
            "fingerprint": fingerprint,
            "payload": payload,
            "error": clean_text(item.error, MAX_ERROR),
            "first_seen_at": now,
            "last_seen_at": now,
            "times_seen": 1,
        }
        if conn.execute(_insert_ignore(conn).returning(TABLE.c.id), row).first():
            first_time.append(item)
            continue
        conn.execute(
            update(TABLE)
            .where(TABLE.c.source == stream.source, TABLE.c.fingerprint == fingerprint)
            .values(last_seen_at=now, times_seen=TABLE.c.times_seen + 1)
        )
    return first_time


@dataclass(frozen=True, slots=True)
class Entry:
    """One quarantined item, as listed."""

    source: str
    brand: str | None
    error: str
    payload: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int


def recent(engine: Engine, limit: int = 100) -> list[Entry]:
    """The items most recently seen first."""
    fields = [TABLE.c[name] for name in Entry.__slots__]
    query = select(*fields).order_by(TABLE.c.last_seen_at.desc(), TABLE.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [Entry(*row) for row in conn.execute(query)]


def _printable(value: str) -> str:
    """Payloads are what a service sent: no control character reaches the terminal."""
    return "".join(ch if ch.isprintable() else " " for ch in value)


def report(entries: list[Entry], width: int = 160) -> str:
    """The quarantine as text, for ``python -m monitor quarantine``."""
    if not entries:
        return "quarantine is empty: every item collected so far could be read"
    lines = [f"{len(entries)} item(s) set aside, most recently seen first:"]
    for e in entries:
        lines.append(
            f"- {e.source} ({e.brand or 'all brands'}), first seen {e.first_seen_at:%Y-%m-%d %H:%M}"
            f" UTC, seen {e.times_seen} time(s): {_printable(e.error)}"
        )
        lines.append(f"    {_printable(e.payload)[:width]}")
    return "\n".join(lines)
