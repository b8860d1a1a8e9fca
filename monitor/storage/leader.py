"""One scheduler per database, and a scheduler that waits out a missing database.

Two ``run`` processes pointed at one database used to fetch every source twice (double API
quota). The scheduler now acts only while it holds the database's scheduler lock: a PostgreSQL
session advisory lock (freed by the server when the holder's connection dies, so a standby takes
over after a crash) or, for SQLite, an exclusive ``flock`` on a file beside the database. The
other stands by and says so once. (``run --worker`` processes share the work through the job queue
instead.)

``Availability`` is the scheduler's check before each turn: while the database cannot be
reached, or has lost its tables (dropped and recreated), it says so once, backs off, and once the
database answers again brings the schema up to date and lets the scheduler resume.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from monitor.storage.db import redacted, upgrade

log = logging.getLogger(__name__)
SCHEDULER_LOCK = 0x56_49_47_49_45_02  # "VIGIE" + 2 (the migrations hold + 1)
CHECK_EVERY = 5.0
MAX_BACKOFF = 60.0


class Leadership:
    """Whether this process may schedule: acquire with :meth:`ensure` before each turn."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None
        self.lock_file: int | None = None
        self.checked = 0.0
        self.standing_by = False

    def ensure(self) -> bool:
        """True while this process holds the lock (taken now if it is free)."""
        held = self._still_held() if self._holding() else self._acquire()
        if held and self.standing_by:
            log.info("the other scheduler is gone: this one takes over")
        elif not held and not self.standing_by:
            log.warning(
                "another scheduler is running on %s: standing by until it stops",
                redacted(str(self.engine.url)),
            )
        self.standing_by = not held
        return held

    def _holding(self) -> bool:
        return self.conn is not None or self.lock_file is not None

    def _acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SCHEDULER_LOCK})
            if got.scalar():
                conn.commit()
                self.conn, self.checked = conn, time.monotonic()
                return True
            conn.close()
            return False
        path = self._lock_path()
        if path is None:
            self.lock_file = -1  # an in-memory database: nobody else can reach it
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.lock_file = fd
        return True

    def _lock_path(self) -> Path | None:
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        return Path(database).with_name(Path(database).name + ".scheduler.lock")

    def _still_held(self) -> bool:
        """A PostgreSQL lock lives as long as its connection: check that now and then."""
        if self.conn is None or time.monotonic() - self.checked < CHECK_EVERY:
            return True
        try:
            self.conn.execute(text("SELECT 1")).scalar()
            self.conn.commit()
            self.checked = time.monotonic()
            return True
        except DBAPIError as exc:
            log.warning("lost the scheduler lock with its connection (%s)", type(exc.orig).__name__)
            self.release()
            return self._safe_acquire()

    def _safe_acquire(self) -> bool:
        try:
            return self._acquire()
        except DBAPIError:
            return False

    def release(self) -> None:
        if self.conn is not None:
            self.conn.invalidate()  # closes the session, which frees its advisory lock
            self.conn.close()
            self.conn = None
        if self.lock_file is not None and self.lock_file >= 0:
            os.close(self.lock_file)  # closing the file releases the flock
        self.lock_file = None


class Availability:
    """Waits out a database that is down or lost its tables; migrates it when it is back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.failures = 0
        self.down_since: float | None = None

    def wait_seconds(self) -> float:
        """0 when the database is ready (migrated again if it came back empty); else how long to
        wait before looking again. The first failure is logged, the rest are not."""
        try:
            self._check()
        except DBAPIError as exc:
            return self._down(exc)
        if self.down_since is not None:
            log.warning("database back after %.0f s: resuming", time.monotonic() - self.down_since)
        self.failures, self.down_since = 0, None
        return 0.0

    def _check(self) -> None:
        with self.engine.connect() as conn:
            try:
                conn.execute(text("SELECT version_num FROM alembic_version")).all()
                return
            except (ProgrammingError, OperationalError):  # no tables: dropped and recreated
                conn.rollback()
        log.warning("database %s has no Vigie tables: migrating", redacted(str(self.engine.url)))
        upgrade(self.engine)

    def _down(self, exc: DBAPIError) -> float:
        self.failures += 1
        wait = min(2.0**self.failures, MAX_BACKOFF)
        if self.down_since is None:
            self.down_since = time.monotonic()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            log.error(
                "database %s unavailable (%s): waiting, retrying with backoff up to %.0f s",
                redacted(str(self.engine.url)),
                reason,
                MAX_BACKOFF,
            )
        return wait
