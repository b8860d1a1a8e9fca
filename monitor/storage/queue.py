"""The job queue's side of the database (worker mode): procrastinate's schema, its connection
string, the recovery of stalled jobs, and the watchdog that stops a worker whose jobs were
given to another.

procrastinate keeps its tables (``procrastinate_jobs``, ``_workers``, ``_periodic_defers``,
``_events``) beside Vigie's, in the schema the URL's ``search_path`` names. Its schema is applied
under the same advisory lock as Vigie's migrations, so workers started together on a fresh
database take turns instead of racing on ``CREATE TABLE``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from procrastinate.manager import JobManager
from procrastinate.schema import SchemaManager
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from monitor.storage.db import MIGRATION_LOCK, DatabaseError

log = logging.getLogger(__name__)
EXIT_FENCED = 75  # EX_TEMPFAIL: a service manager restarts the worker


def require_postgresql(engine: Engine) -> None:
    """Worker mode shares jobs through PostgreSQL; SQLite has one process (``run``)."""
    if engine.dialect.name != "postgresql":
        raise DatabaseError(
            "worker mode needs PostgreSQL (DATABASE_URL=postgresql://…); "
            "on SQLite, run the single-process scheduler: python -m monitor run"
        )


def conninfo(engine: Engine) -> str:
    """The engine's URL as libpq reads it (``options=-csearch_path…`` included)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> bool:
    """Apply procrastinate's schema unless present; True when it was applied now."""
    require_postgresql(engine)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        if conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        log.info("applying the job queue's schema (procrastinate)")
        conn.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))
        return True


async def database_time(app: App) -> float:
    """The database server's time (epoch seconds): the one clock every worker agrees on."""
    row = await app.connector.execute_query_one_async(
        "SELECT extract(epoch FROM clock_timestamp())::float8 AS now"
    )
    return float(row["now"])


class QueueManager(JobManager):
    """procrastinate's job manager, where a retry that meets the job's next run already queued
    (its queueing lock is taken: one waiting run at most) closes the job as failed instead of
    failing itself. procrastinate's own retry would raise there and leave the job "doing"
    forever, its lock held, the job never to run again."""

    async def retry_job_by_id_async(  # type: ignore[override]
        self, job_id: int, retry_at: datetime | None = None, **changes: Any
    ) -> bool:
        """True when the job was queued again, False when its queued next run takes over."""
        try:
            await super().retry_job_by_id_async(job_id, retry_at, **changes)  # type: ignore[arg-type]
        except UniqueViolation as exc:
            if "queueing_lock" not in (exc.constraint_name or ""):
                raise
            await self.finish_job_by_id_async(job_id, status=Status.FAILED, delete_job=False)
            log.warning("job %d: its next run, already queued, takes over", job_id)
            return False
        return True


def queue_app(engine: Engine) -> App:
    """A procrastinate app on ``engine``'s database, with :class:`QueueManager`."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(engine), max_size=4))
    app.job_manager = QueueManager(connector=app.connector)
    return app


async def recover_stalled(app: App, stalled_seconds: float) -> list[int]:
    """Run again the jobs of workers whose heartbeat is older than ``stalled_seconds``
    (database time), then forget those workers. Returns the ids of the jobs queued again (not
    those whose queued next run takes over, see :class:`QueueManager`)."""
    manager = app.job_manager
    assert isinstance(manager, QueueManager)
    again = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        assert job.id is not None
        log.warning("job %d (%s) of a stalled worker: taken back", job.id, job.task_name)
        try:
            if await manager.retry_job_by_id_async(job.id):
                again.append(job.id)
        except Exception as exc:  # another worker recovered it first
            log.info("job %d: already recovered (%s)", job.id, type(exc).__name__)
    await manager.prune_stalled_workers(stalled_seconds)
    return again


async def release_jobs(app: App, worker_id: int) -> None:
    """After an interruption (the database went away), the jobs this process's previous queue
    worker left running, which no thread runs any more: queued again at once, rather than
    after the stalled age; then that worker is forgotten."""
    rows = await app.connector.execute_query_all_async(
        "SELECT id FROM procrastinate_jobs "
        "WHERE status = 'doing' AND worker_id = %(worker)s",
        worker=worker_id,
    )
    for row in rows:
        log.warning("job %d, interrupted with this worker: taken back", row["id"])
        await app.job_manager.retry_job_by_id_async(row["id"])
    await app.job_manager.unregister_worker(worker_id)


def _fence() -> None:
    os._exit(EXIT_FENCED)


class Watchdog:
    """Stops this worker's process before another worker can take its running jobs over.

    procrastinate declares a worker's jobs stalled once its heartbeat is ``stalled_seconds``
    old (database time) and another worker runs them again; a synchronous job cannot be
    cancelled from outside its thread, so a worker that lost its heartbeat would go on running
    it beside the new run. This thread checks, every half heartbeat, that each running job is
    still this worker's and how old its heartbeat is; when a job was taken, or the heartbeat
    nears the stalled age (a stuck loop, or a database this worker can no longer reach, counted
    on local elapsed time), it logs why and ends the process (exit 75, for the service
    manager to restart it).
    """

    def __init__(
        self,
        engine: Engine,
        heartbeat: float,
        stalled: float,
        on_lost: Callable[[], None] = _fence,
    ) -> None:
        self.engine, self.on_lost = engine, on_lost
        self.heartbeat, self.stalled = heartbeat, stalled
        self.worker_id: int | None = None
        self.deadline: float | None = None
        self._jobs: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vigie-watchdog", daemon=True)

    @contextmanager
    def running(self, job_id: int | None) -> Iterator[None]:
        """Watch ``job_id`` while the body runs it; once it is done, check that it is still
        this worker's before procrastinate records its end (a job given to another meanwhile,
        say while this process was frozen, must not be marked finished under the new run)."""
        if job_id is not None:
            with self._lock:
                self._jobs.add(job_id)
        try:
            yield
            if job_id is not None:
                self._confirm(job_id)
        finally:
            with self._lock:
                self._jobs.discard(job_id or -1)

    def _confirm(self, job_id: int) -> None:
        if self.worker_id is None:
            return
        try:
            age, mine = self._read([job_id])
        except DBAPIError:
            return  # recording the end will fail too; the job is retried
        if age is None or job_id not in mine:
            self._lose([job_id], "the job was given to another worker while it ran")

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.heartbeat / 2):
            self.check()

    def check(self) -> None:
        """One look; calls ``on_lost`` when a running job is no longer safely this worker's."""
        with self._lock:
            jobs = sorted(self._jobs)
        if self.worker_id is None:
            return
        try:
            age, mine = self._read(jobs)
        except DBAPIError:
            if jobs and self.deadline is not None and time.monotonic() > self.deadline:
                self._lose(jobs, "the database has not answered for too long")
            return
        with self._lock:  # a job that ended during the query was checked by its own thread
            still = sorted(set(jobs) & self._jobs)
        if age is None:
            if still:
                self._lose(still, "this worker was declared stalled")
            return
        self.deadline = time.monotonic() - age + self.stalled - self.heartbeat
        if taken := [job for job in still if job not in mine]:
            self._lose(taken, "another worker took a job over")
        elif still and time.monotonic() > self.deadline:
            self._lose(still, f"the heartbeat is {age:.0f} s old")

    def _read(self, jobs: list[int]) -> tuple[float | None, set[int]]:
        """The heartbeat's age (None: this worker is gone) and which of ``jobs`` it still runs."""
        with self.engine.connect() as conn:
            age = conn.execute(
                text(
                    "SELECT extract(epoch FROM clock_timestamp() - last_heartbeat)::float8 "
                    "FROM procrastinate_workers WHERE id = :worker"
                ),
                {"worker": self.worker_id},
            ).scalar()
            mine = conn.execute(
                text(
                    "SELECT id FROM procrastinate_jobs WHERE id = ANY(:jobs) "
                    "AND status = 'doing' AND worker_id = :worker"
                ),
                {"jobs": jobs, "worker": self.worker_id},
            ).scalars()
            return age, set(mine)

    def _lose(self, jobs: list[int], why: str) -> None:
        log.error(
            "worker %s stops while running job(s) %s: %s; another worker runs them again",
            self.worker_id,
            ", ".join(map(str, jobs)),
            why,
        )
        self.on_lost()
