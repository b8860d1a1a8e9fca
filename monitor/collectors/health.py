"""Collector health: what each source did last, and when it may run next.

One row per collector in ``collector_state`` (the cursor lives there too). After every run the
runner records the outcome here; repeated failures push ``next_run_at`` back exponentially, and
a rate limit or an exhausted quota holds the source until the reset. Whether a source went
silent is decided from these records by detection (:mod:`monitor.detection.silence`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.collectors.base import Collector
from monitor.storage.tables import ApiUsage, CollectorState

log = logging.getLogger(__name__)
STATE = CollectorState.__table__
USAGE = ApiUsage.__table__
HISTORY = 96


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """How a source is scheduled: what backoff is measured against."""

    interval_seconds: float = 300.0
    max_backoff_seconds: float = 3600.0

    def backoff(self, failures: int) -> timedelta | None:
        """After the second failure in a row, wait 2, 4, 8… intervals (capped); None before."""
        if failures < 2:
            return None
        cap = max(self.max_backoff_seconds, self.interval_seconds)
        return timedelta(seconds=min(self.interval_seconds * 2 ** (failures - 1), cap))


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a run ended: ``ok``, ``error``, ``disabled``, ``rate_limited`` or ``quota``."""

    status: str
    new: int = 0
    error: str | None = None
    hold_until: datetime | None = None


def load_state(conn: Connection, key: str) -> tuple[dict[str, Any] | None, datetime | None]:
    """The cursor and the not-before time of one collector."""
    query = select(STATE.c.cursor, STATE.c.next_run_at).where(STATE.c.key == key)
    row = conn.execute(query).first()
    return (row.cursor, row.next_run_at) if row else (None, None)


def load_usage(conn: Connection, source: str, period: str) -> tuple[int, int]:
    row = conn.execute(
        select(USAGE.c.requests, USAGE.c["items"]).where(
            USAGE.c.source == source, USAGE.c.period == period
        )
    ).first()
    return (row[0], row[1]) if row else (0, 0)


def add_usage(conn: Connection, source: str, period: str, requests: int, items: int) -> None:
    """Atomic increment, safe with several workers sharing one database."""
    if not requests and not items:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(USAGE).values(
        source=source, period=period, requests=requests, items=items
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["source", "period"],
            set_={
                "requests": USAGE.c.requests + stmt.excluded.requests,
                "items": USAGE.c["items"] + stmt.excluded["items"],
            },
        )
    )


def _ensure_row(conn: Connection, collector: Collector) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(STATE).on_conflict_do_nothing(),
        {
            "key": collector.key,
            "source": collector.source,
            "brand": collector.brand,
            "last_items": 0,
            "items_total": 0,
            "consecutive_failures": 0,
        },
    )


def record(
    conn: Connection, collector: Collector, outcome: Outcome, policy: RunPolicy, now: datetime
) -> None:
    """Save a run's outcome (inside the caller's transaction)."""
    _ensure_row(conn, collector)
    row = conn.execute(
        select(STATE.c.consecutive_failures, STATE.c.recent_runs, STATE.c.last_error).where(
            STATE.c.key == collector.key
        )
    ).one()
    values: dict[str, Any] = {"status": outcome.status, "last_error": outcome.error}
    runs = list(row.recent_runs or [])
    if outcome.status != "disabled":
        failed = outcome.status == "error"
        failures = row.consecutive_failures + 1 if failed else 0
        backoff = policy.backoff(failures)
        runs = [*runs, [now.timestamp(), outcome.new, not failed]][-HISTORY:]
        values |= {
            "last_run_at": now,
            "last_items": outcome.new,
            "items_total": STATE.c.items_total + outcome.new,
            "consecutive_failures": failures,
            "recent_runs": runs,
            "next_run_at": outcome.hold_until or (now + backoff if backoff else None),
        }
        if outcome.status == "ok":
            values["last_success_at"] = now
    conn.execute(update(STATE).where(STATE.c.key == collector.key).values(**values))


@dataclass(frozen=True, slots=True)
class Health:
    """One collector's health, as the dashboard and ``vigie sources`` show it."""

    key: str
    source: str
    brand: str | None
    status: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_items: int
    items_total: int
    last_error: str | None
    consecutive_failures: int
    next_run_at: datetime | None


def health(engine: Engine) -> list[Health]:
    fields = [STATE.c[name] for name in Health.__slots__]
    with engine.connect() as conn:
        rows = conn.execute(select(*fields).order_by(STATE.c.source, STATE.c.brand)).all()
    return [Health(*row) for row in rows]


def usage(engine: Engine, period: str) -> dict[str, tuple[int, int]]:
    """Requests and items used per source in a month (``YYYY-MM``)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(USAGE.c.source, USAGE.c.requests, USAGE.c["items"]).where(
                USAGE.c.period == period
            )
        ).all()
    return {source: (requests, items) for source, requests, items in rows}


def _printable(value: object) -> str:
    """Error texts quote what services sent: drop control characters (terminal escapes)."""
    return "".join(ch if ch.isprintable() else " " for ch in str(value))


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def report(rows: list[Health], used: dict[str, tuple[int, int]]) -> str:
    """The health table as text, for ``vigie sources``."""
    lines = [
        f"{'collector':<28} {'status':<13} {'last run':<16} {'last success':<16} "
        f"{'new':>5} {'total':>8} {'next run':<16} last error"
    ]
    for h in rows:
        lines.append(
            f"{_printable(h.key)[:28]:<28} {h.status or 'never run':<13} "
            f"{_when(h.last_run_at):<16} {_when(h.last_success_at):<16} "
            f"{h.last_items:>5} {h.items_total:>8} "
            f"{_when(h.next_run_at):<16} {_printable(h.last_error or '')[:120]}"
        )
    for source, (requests, items) in sorted(used.items()):
        lines.append(f"{source}: {requests} requests, {items} items read this month")
    return "\n".join(lines)
