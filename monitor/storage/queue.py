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

from procrastinate import App
from procrastinate.jobs import Job, Status
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


async def _queued_behind(manager: JobManager, job: Job) -> bool:
    """Whether a later run of the same job already waits (its queueing lock is taken)."""
    if job.queueing_lock is None:
        return False
    row = await manager.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_jobs "
        "WHERE queueing_lock = %(lock)s AND status = 'todo' AND id <> %(id)s",
        lock=job.queueing_lock,
        id=job.id,
    )
    return bool(row["n"])


async def recover_stalled(app: App, stalled_seconds: float) -> list[int]:
    """Run again the jobs of workers whose heartbeat is older than ``stalled_seconds``
    (database time), then forget those workers. A job whose next run is already queued is
    closed as failed instead: that next run resumes from the same committed cursor.
    Returns the ids of the jobs queued again."""
    manager = app.job_manager
    again = []
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        assert job.id is not None
        try:
            if await _queued_behind(manager, job):
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
                log.warning("job %d (%s) stalled: its next run takes over", job.id, job.task_name)
                continue
            await manager.retry_job(job)
        except Exception as exc:  # another worker recovered it first
            log.info("job %d: already recovered (%s)", job.id, type(exc).__name__)
            continue
        log.warning("job %d (%s) of a stalled worker: queued again", job.id, job.task_name)
        again.append(job.id)
    await manager.prune_stalled_workers(stalled_seconds)
    return again


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
