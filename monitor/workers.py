"""Scale-out: ``run --worker`` processes, on one or several machines, share one PostgreSQL
database's jobs through procrastinate (a PostgreSQL task queue: ``FOR UPDATE SKIP LOCKED``,
periodic tasks, queueing locks, retries, worker heartbeats).

Each recurring job (a collection per source and brand, processing, weekly reports, and the
recovery of stalled jobs) is a periodic task. Its periods are counted on the database's clock,
so every worker names the same period the same way and procrastinate's periodic table defers it
once; its queueing lock keeps at most one run waiting and its lock at most one running, so a job
never overlaps itself or piles up. A failing run is retried with backoff, counted on the
database's clock too. A worker killed mid-job stops its heartbeat; once the heartbeat is
``stalled_seconds`` old another worker queues the job again, and a worker that loses its
heartbeat while running a job ends itself first (:class:`monitor.storage.queue.Watchdog`).

The single-process scheduler (``run``, SQLite or PostgreSQL) is :mod:`monitor.scheduler`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from procrastinate import App, BaseRetryStrategy, JobContext, RetryDecision
from procrastinate.jobs import Job
from procrastinate.periodic import PeriodicDeferrer, PeriodicRegistry
from procrastinate.worker import Worker

from monitor.clock import DatabaseClock
from monitor.collectors.base import DisabledCollector
from monitor.collectors.runner import run
from monitor.scheduler import Pipeline
from monitor.storage.queue import (
    Watchdog,
    database_time,
    ensure_schema,
    queue_app,
    recover_stalled,
    release_jobs,
)

log = logging.getLogger(__name__)
MAX_OUTAGE_WAIT = 30.0
RETRY_ATTEMPTS = 3
RETRY_BASE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """Periods (seconds) and the heartbeat that decides when a silent worker's job is retaken."""

    process_every: float = 30.0
    reports_every: float = 300.0
    heartbeat_seconds: float = 10.0
    stalled_seconds: float = 30.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.stalled_seconds < 3 * self.heartbeat_seconds:
            raise ValueError("stalled_seconds must be at least 3 heartbeats")

    @property
    def label(self) -> str:
        return self.name or f"{socket.gethostname()}:{os.getpid()}"


def _periods() -> list[int]:
    """Every period that divides a minute, an hour or a day, in seconds."""
    minute = [n for n in range(1, 60) if 60 % n == 0]
    return [*minute, *(60 * n for n in minute), *(3600 * n for n in (1, 2, 3, 4, 6, 8, 12)), 86400]


def aligned(seconds: float) -> int:
    """The period worker mode uses for ``seconds``: the nearest that divides a minute, an hour
    or a day (a tie to the longer), so that periods align on the clock and every worker names
    the same period."""
    return min(_periods(), key=lambda p: (abs(p - seconds), -p))


def cron_every(seconds: float) -> str:
    """A cron expression for every :func:`aligned` ``seconds``."""
    period = aligned(seconds)
    if period < 60:
        return f"* * * * * */{period}"
    if period < 3600:
        return f"*/{period // 60} * * * *"
    if period < 86400:
        return f"0 */{period // 3600} * * *"
    return "0 0 * * *"


class DatabaseTimeDeferrer(PeriodicDeferrer):
    """procrastinate's periodic deferrer, reading the time from the database, not this machine.

    Periods are deduplicated by their timestamp (``procrastinate_periodic_defers``), and a newer
    timestamp deletes the older rows: with each worker's own clock, a worker two minutes ahead
    deferred periods before they came and erased the rows that would have stopped the on-time
    workers from deferring them again (every period ran twice).
    """

    def __init__(self, registry: PeriodicRegistry, app: App) -> None:
        super().__init__(registry=registry)
        self.app = app

    async def worker(self) -> None:
        while True:
            now = await database_time(self.app)
            await self.defer_jobs(self.get_previous_tasks(at=now))
            await self.wait(next_tick=self.get_next_tick(at=now))


class DatabaseTimeRetry(BaseRetryStrategy):
    """Retry up to ``RETRY_ATTEMPTS`` times after 5, 10, 20 s, from the database's time."""

    def __init__(self, now: Callable[[], Any]) -> None:
        self.now = now

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if job.attempts >= RETRY_ATTEMPTS:
            return None
        wait = timedelta(seconds=RETRY_BASE_SECONDS * 2**job.attempts)
        log.warning("job %s failed (%s): retried in %s", job.id, type(exception).__name__, wait)
        return RetryDecision(retry_at=self.now() + wait)


def build_app(
    pipeline: Pipeline, options: WorkerOptions, watchdog: Watchdog
) -> tuple[App, PeriodicRegistry]:
    """The procrastinate app on the pipeline's database, with one task per kind of job and
    each recurring job in a registry of its own (read by :class:`DatabaseTimeDeferrer`, not by
    procrastinate's default deferrer, which would use this machine's clock)."""
    app = queue_app(pipeline.engine)
    retry = DatabaseTimeRetry(DatabaseClock(pipeline.engine).now)  # queue times: the database's
    collectors = {c.key: c for c in pipeline.collectors if not isinstance(c, DisabledCollector)}

    def watched(job: Callable[..., object]) -> Callable[..., None]:
        def task(context: JobContext, timestamp: int, **kwargs: Any) -> None:
            with watchdog.running(context.job.id):
                job(**kwargs)

        return task

    def collect(collector: str) -> None:
        found = collectors[collector]
        result = run(pipeline.engine, found, pipeline.clock.now(), pipeline.policy(found))
        (log.info if result.ok else log.warning)("%s", result.summary())

    def reports() -> None:
        from monitor.reports.weekly import send_due_reports  # seconds of imports, paid here

        send_due_reports(pipeline.engine, pipeline.config, pipeline.settings, pipeline.clock.now())

    async def recover(context: JobContext, timestamp: int) -> None:
        await recover_stalled(app, options.stalled_seconds)

    def task(name: str, func: Callable[..., Any]) -> Any:
        return app.task(name=f"vigie.{name}", pass_context=True, retry=retry)(func)

    registry = PeriodicRegistry()

    def every(job: Any, seconds: float, key: str, **kwargs: Any) -> None:
        if abs(aligned(seconds) - seconds) >= 1:
            log.warning("%s: every %d s in worker mode, not %g s", key, aligned(seconds), seconds)
        lock = {"lock": key, "queueing_lock": key} if kwargs.pop("locked", True) else {}
        registry.register_task(
            job, cron_every(seconds), key, {"task_kwargs": kwargs, **lock}  # type: ignore[typeddict-item]
        )

    collect_task = task("collect", watched(collect))
    for key, collector in collectors.items():
        every(collect_task, pipeline.config.sources[collector.source].interval_seconds,
              f"collect:{key}", collector=key)
    every(task("process", watched(pipeline.run_steps)), options.process_every, "process")
    if pipeline.config.reports.enabled:
        every(task("reports", watched(reports)), options.reports_every, "reports")
    # No lock: a worker killed while recovering must not hold back the next recovery.
    recover_every = aligned(max(options.heartbeat_seconds, options.stalled_seconds / 3))
    every(task("recover", recover), recover_every, "recover", locked=False)
    return app, registry


def run_worker(pipeline: Pipeline, options: WorkerOptions, stop: threading.Event) -> None:
    """Run jobs until ``stop`` is set; a database outage is waited out with a backoff."""
    ensure_schema(pipeline.engine)
    for collector in pipeline.collectors:
        if isinstance(collector, DisabledCollector):
            pipeline.collect(collector)  # shows it as disabled in the health table
    watchdog = Watchdog(pipeline.engine, options.heartbeat_seconds, options.stalled_seconds)
    app, registry = build_app(pipeline, options, watchdog)
    watchdog.start()
    try:
        asyncio.run(_serve(app, registry, options, stop, watchdog))
    finally:
        watchdog.stop()


async def _serve(
    app: App,
    registry: PeriodicRegistry,
    options: WorkerOptions,
    stop: threading.Event,
    watchdog: Watchdog,
) -> None:
    outages, previous = 0, []
    async with app.open_async():
        while not stop.is_set():
            attempt: list[int] = []
            try:
                if previous:  # interrupted: its jobs did not end, and no thread runs them now
                    await release_jobs(app, previous[-1])
                    previous.clear()
                await _work(app, registry, options, stop, watchdog, attempt)
            except Exception as exc:  # the database went away: wait, then start again
                outages = 1 if attempt else outages + 1  # it had worked: a new outage
                wait = min(2.0**outages, MAX_OUTAGE_WAIT)
                (log.warning if outages == 1 else log.debug)(
                    "worker %s interrupted (%s: %s); starting again in %gs",
                    options.label, type(exc).__name__, str(exc).splitlines()[0][:200], wait,
                )
                await asyncio.to_thread(stop.wait, wait)
            finally:
                previous.extend(attempt)


async def _work(
    app: App,
    registry: PeriodicRegistry,
    options: WorkerOptions,
    stop: threading.Event,
    watchdog: Watchdog,
    registered: list[int],
) -> None:
    """One procrastinate worker and the periodic deferrer, until ``stop`` or a failure; the
    worker's queue id is appended to ``registered``."""
    worker = Worker(
        app=app,
        name=options.label,
        install_signal_handlers=False,
        update_heartbeat_interval=options.heartbeat_seconds,
        stalled_worker_timeout=options.stalled_seconds,
        fetch_job_polling_interval=min(5.0, options.heartbeat_seconds),
    )
    running = asyncio.create_task(worker.run(), name="worker")
    deferrer = asyncio.create_task(DatabaseTimeDeferrer(registry, app).worker(), name="deferrer")
    stopping = asyncio.create_task(_until(stop), name="stop")
    while worker.worker_id is None and not running.done():
        await asyncio.sleep(0.05)
    if worker.worker_id is not None:
        registered.append(worker.worker_id)
        watchdog.worker_id = worker.worker_id
        log.info("worker %s started as procrastinate worker %s", options.label, worker.worker_id)
    try:
        await asyncio.wait({running, deferrer, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        worker.stop()
        deferrer.cancel()
        stopping.cancel()
        await asyncio.gather(running, deferrer, stopping, return_exceptions=True)
        watchdog.worker_id = None
    for task in (running, deferrer):
        if not task.cancelled() and (failure := task.exception()) is not None:
            raise failure
    if not stop.is_set():
        raise RuntimeError("the worker stopped on its own (see the error above)")
    log.info("worker %s stopped", options.label)


async def _until(stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.2)
