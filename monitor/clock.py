"""Clocks: the wall clock in production, the database's in worker mode; an accelerated one
replays hours in minutes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class AcceleratedClock:
    """Runs ``speed`` times faster than real time from ``start``, never past the wall clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        elapsed = timedelta(seconds=(time.monotonic() - self._t0) * self.speed)
        return min(self.start + elapsed, datetime.now(UTC))


class ManualClock:
    """Moves only when told to: simulated runs and tests step through time without sleeping."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class DatabaseClock:
    """The database server's clock, for processes that share one database (worker mode).

    Every worker stamps what it stores and schedules with the same time, whatever its own clock
    says: the offset to ``clock_timestamp()`` is measured on first use and again every
    ``resync`` seconds (local elapsed time, which a wrong wall clock does not affect). While the
    database cannot be reached the last offset is kept.
    """

    def __init__(self, engine: Engine, resync: float = 60.0) -> None:
        self.engine = engine
        self.resync = resync
        self.offset: timedelta | None = None
        self._synced = 0.0

    def now(self) -> datetime:
        if self.offset is None or time.monotonic() - self._synced > self.resync:
            self.sync()
        return datetime.now(UTC) + (self.offset or timedelta())

    def sync(self) -> None:
        """Measure the offset (half the round trip is assumed on each side)."""
        try:
            with self.engine.connect() as conn:
                before = datetime.now(UTC)
                server = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
                after = datetime.now(UTC)
        except DBAPIError:
            if self.offset is None:
                raise
            return
        self.offset = server - (before + (after - before) / 2)
        self._synced = time.monotonic()
