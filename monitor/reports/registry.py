"""The ``reports`` table: which weekly reports exist, where their files are, whether they went out.

Sending is claimed with a conditional UPDATE, so when several schedulers share one PostgreSQL only
one of them generates and sends a given brand's week; a claim that is never released (a crash)
expires after ``LEASE``, and a failed send waits out a backoff before the next try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.storage.tables import Report

LEASE = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=6)
TABLE = Report.__table__


@dataclass(frozen=True, slots=True)
class ReportEntry:
    """One row of the index, as the dashboard lists it."""

    brand: str
    week: str
    path: str | None
    summary: dict[str, Any]
    generated_at: datetime | None
    sent_at: datetime | None
    sent_to: str | None
    attempts: int
    last_error: str | None


def backoff(attempts: int) -> timedelta:
    """5 min, 10 min, 20 min … capped at 6 h: an SMTP outage delays the report, never drops it."""
    return min(timedelta(minutes=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _ensure(conn: Connection, brand: str, week: str, now: datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(TABLE).on_conflict_do_nothing(index_elements=["brand", "week"]),
        {"brand": brand, "week": week, "summary": {}, "created_at": now, "attempts": 0},
    )


def _where(brand: str, week: str) -> Any:
    return (TABLE.c.brand == brand) & (TABLE.c.week == week)


def record(
    engine: Engine, brand: str, week: str, path: str, summary: dict[str, Any], now: datetime
) -> None:
    """Remember that the report was (re)generated into ``path``."""
    with engine.begin() as conn:
        _ensure(conn, brand, week, now)
        conn.execute(
            update(TABLE)
            .where(_where(brand, week))
            .values(path=path, summary=summary, generated_at=now)
        )


def claim(engine: Engine, brand: str, week: str, now: datetime) -> bool:
    """Take the right to send this report; False when it is sent, being sent, or backing off."""
    with engine.begin() as conn:
        _ensure(conn, brand, week, now)
        result = conn.execute(
            update(TABLE)
            .where(
                _where(brand, week),
                TABLE.c.sent_at.is_(None),
                or_(TABLE.c.claimed_until.is_(None), TABLE.c.claimed_until <= now),
                or_(TABLE.c.next_attempt_at.is_(None), TABLE.c.next_attempt_at <= now),
            )
            .values(claimed_until=now + LEASE)
        )
        return result.rowcount == 1


def mark_sent(
    engine: Engine, brand: str, week: str, now: datetime, sent_to: str, message_id: str
) -> None:
    with engine.begin() as conn:
        _ensure(conn, brand, week, now)
        conn.execute(
            update(TABLE)
            .where(_where(brand, week))
            .values(
                sent_at=now,
                sent_to=sent_to,
                message_id=message_id,
                attempts=TABLE.c.attempts + 1,
                last_error=None,
                next_attempt_at=None,
                claimed_until=None,
            )
        )


def mark_failed(engine: Engine, brand: str, week: str, now: datetime, error: str) -> None:
    """Release the claim and schedule the next try after an exponential backoff."""
    with engine.begin() as conn:
        attempts = conn.execute(select(TABLE.c.attempts).where(_where(brand, week))).scalar_one()
        conn.execute(
            update(TABLE)
            .where(_where(brand, week))
            .values(
                attempts=attempts + 1,
                last_error=error,
                next_attempt_at=now + backoff(attempts + 1),
                claimed_until=None,
            )
        )


def entries(engine: Engine, brand: str | None = None) -> list[ReportEntry]:
    """Generated reports, newest week first."""
    query = select(
        TABLE.c.brand,
        TABLE.c.week,
        TABLE.c.path,
        TABLE.c.summary,
        TABLE.c.generated_at,
        TABLE.c.sent_at,
        TABLE.c.sent_to,
        TABLE.c.attempts,
        TABLE.c.last_error,
    ).where(TABLE.c.path.is_not(None))
    if brand is not None:
        query = query.where(TABLE.c.brand == brand)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(TABLE.c.week.desc(), TABLE.c.brand)).all()
    return [ReportEntry(*row) for row in rows]
