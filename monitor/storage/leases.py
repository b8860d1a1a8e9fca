"""Leases on recurring jobs, so several workers share one database without running a job twice.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (workers never wait on each other)
and a compare-and-set ``UPDATE`` everywhere, which also makes SQLite's single writer safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.storage.tables import JobLease

TABLE = JobLease.__table__


def ensure_jobs(engine: Engine, names: list[str], now: datetime) -> None:
    """Register jobs (idempotent): a new job is due at once."""
    if not names:
        return
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(TABLE).on_conflict_do_nothing(index_elements=["name"])
        conn.execute(stmt, [{"name": n, "next_run_at": now, "runs": 0} for n in names])


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(TABLE.c.lease_until.is_(None), TABLE.c.lease_until < now)


def _take(conn: Connection, name: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Compare-and-set: take the lease only if it is still free."""
    result = conn.execute(
        update(TABLE)
        .where(and_(TABLE.c.name == name, _free(now), TABLE.c.next_run_at <= now))
        .values(owner=owner, lease_until=now + lease, last_started_at=now)
    )
    return result.rowcount == 1


def claim(
    engine: Engine, owner: str, now: datetime, lease: timedelta, names: list[str], limit: int = 1
) -> list[str]:
    """Claim up to ``limit`` due, unleased jobs among ``names``; returns the claimed names."""
    query = (
        select(TABLE.c.name)
        .where(TABLE.c.name.in_(names), TABLE.c.next_run_at <= now, _free(now))
        .order_by(TABLE.c.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as conn:
        candidates = list(conn.execute(query).scalars())
        return [name for name in candidates if _take(conn, name, owner, now, lease)]


def renew(engine: Engine, name: str, owner: str, until: datetime) -> bool:
    """Extend a lease still held by ``owner`` (False if it expired and was taken over)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(TABLE)
            .where(TABLE.c.name == name, TABLE.c.owner == owner)
            .values(lease_until=until)
        )
        return result.rowcount == 1


def finish(engine: Engine, name: str, owner: str, now: datetime, next_run_at: datetime) -> None:
    """Release the lease and schedule the next run (only if ``owner`` still holds it)."""
    with engine.begin() as conn:
        conn.execute(
            update(TABLE)
            .where(TABLE.c.name == name, TABLE.c.owner == owner)
            .values(
                owner=None,
                lease_until=None,
                last_finished_at=now,
                next_run_at=next_run_at,
                runs=TABLE.c.runs + 1,
            )
        )


def next_due(engine: Engine, names: list[str]) -> datetime | None:
    """When the earliest of ``names`` is next due (for the worker's sleep)."""
    with engine.connect() as conn:
        return conn.execute(
            select(TABLE.c.next_run_at)
            .where(TABLE.c.name.in_(names))
            .order_by(TABLE.c.next_run_at)
            .limit(1)
        ).scalar()
