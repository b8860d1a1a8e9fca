"""Slows password guessing, in the database: no browser message (Streamlit's ``clear_cache``
empties every ``st.cache_resource``) reaches it, and every dashboard process and restart shares it.

Each try is counted *before* the password is checked, in a compare-and-set on its row, so tries
sent in parallel see each other: from one client, five are free, then each waits twice as long as
the last (at most five minutes). All clients together get thirty free tries, then at most one
every 30 s: addresses an attacker rotates through still share that cap. A success clears its
client's count; failures are forgotten an hour after the last one, and a refused try never
extends the wait, so the right password gets in once guessing stops.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import OperationalError

from monitor.storage.ingest import insert_ignore
from monitor.storage.tables import LoginFailure

TABLE = LoginFailure.__table__
EVERYONE = "*"
FORGET_AFTER = timedelta(hours=1)
CLIENT_KEY_CHARS = 80
_RETRIES = 20


@dataclass(frozen=True, slots=True)
class Rule:
    free: int
    max_wait: float

    def delay(self, failures: int) -> float:
        """Seconds a try waits after the last failure, given how many came before it."""
        if failures < self.free:
            return 0.0
        return min(2.0 ** (failures - self.free + 1), self.max_wait)


PER_CLIENT = Rule(free=5, max_wait=300.0)
ALL_CLIENTS = Rule(free=30, max_wait=30.0)


def client_address(peer: str | None, forwarded_for: str | None, proxies: frozenset[str]) -> str:
    """Who is guessing: the connection's address, or, when it comes from a trusted reverse proxy,
    the nearest address in ``X-Forwarded-For`` that no trusted proxy wrote (the part before it
    is the client's own say, and free to forge). Streamlit gives no peer for loopback."""
    address = peer or "127.0.0.1"
    if address in proxies and forwarded_for:
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            if hop and hop not in proxies:
                address = hop
                break
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address[:CLIENT_KEY_CHARS].encode("ascii", "replace").decode()


def _take(engine: Engine, client: str, now: datetime, rule: Rule) -> float:
    """Count one try for ``client``; 0 if it may go ahead, else the seconds left to wait."""
    for _ in range(_RETRIES):
        try:
            wait = _try_take(engine, client, now, rule)
        except OperationalError:  # SQLite: another try wrote since this one read; read again
            continue
        if wait is not None:
            return wait
    return rule.max_wait  # lost every race: a flood of parallel tries, refused


def _try_take(engine: Engine, client: str, now: datetime, rule: Rule) -> float | None:
    """One compare-and-set; None when another try changed the row first."""
    cols = TABLE.c
    with engine.begin() as conn:
        row = conn.execute(
            select(cols.failures, cols.last_failure_at).where(cols.client == client)
        ).first()
        if row is None:
            fresh = {"client": client, "failures": 1, "last_failure_at": now}
            added = insert_ignore(conn, TABLE).returning(cols.client)
            return 0.0 if conn.execute(added, fresh).first() is not None else None
        elapsed = (now - row.last_failure_at).total_seconds()
        failures = 0 if now - row.last_failure_at > FORGET_AFTER else row.failures
        wait = rule.delay(failures) - elapsed
        if wait > 0:
            return wait
        swapped = conn.execute(
            update(TABLE)
            .where(
                cols.client == client,
                cols.failures == row.failures,
                cols.last_failure_at == row.last_failure_at,
            )
            .values(failures=failures + 1, last_failure_at=now)
        )
        return 0.0 if swapped.rowcount == 1 else None


def reserve(engine: Engine, client: str, now: datetime) -> float:
    """Count a password try before it is checked: 0 if it may be checked, else how long to wait."""
    return _take(engine, client, now, PER_CLIENT) or _take(engine, EVERYONE, now, ALL_CLIENTS)


def succeeded(engine: Engine, client: str) -> None:
    """The right password: that client starts afresh, and its try no longer counts for all."""
    with engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.client == client))
        conn.execute(
            update(TABLE)
            .where(TABLE.c.client == EVERYONE, TABLE.c.failures > 0)
            .values(failures=TABLE.c.failures - 1)
        )


def failures(engine: Engine, client: str) -> int:
    """Failures counted for ``client`` (for the log line)."""
    with engine.connect() as conn:
        count = conn.execute(select(TABLE.c.failures).where(TABLE.c.client == client)).scalar()
    return count or 0
