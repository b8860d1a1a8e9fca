"""Scale-out: several ``run --worker`` processes, on one or several machines, share one database.

Each recurring job (a collector, detection, reports) is claimed through a lease in
``job_leases``, so it runs on one worker at a time; a worker that dies stops renewing its lease and
another picks the job up when the lease expires. Scoring needs no lease: every worker scores the
batches it can lock (``SKIP LOCKED``), and alert deliveries are claimed row by row by the sender.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from monitor.collectors.base import Collector
from monitor.scheduler import Pipeline
from monitor.storage.leases import claim, ensure_jobs, finish, next_due, renew

log = logging.getLogger(__name__)
MAX_OUTAGE_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every: float
    jitter: float
    run: Callable[[], object]

    def next_run(self, started: datetime) -> datetime:
        return started + timedelta(seconds=self.every + random.uniform(0, self.jitter))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _collect_job(pipeline: Pipeline, collector: Collector) -> Job:
    source = pipeline.config.sources[collector.source]
    return Job(
        f"collect:{collector.key}",
        source.interval_seconds,
        source.jitter_seconds,
        lambda: pipeline.collect(collector),
    )


def plan(pipeline: Pipeline, process_every: float) -> list[Job]:
    """The leased jobs: one per collector, plus processing (scoring, detection, delivery)."""
    jobs = [_collect_job(pipeline, c) for c in pipeline.collectors]
    jobs.append(Job("process", process_every, 0.0, pipeline.process))
    return jobs


class _Heartbeat:
    """Renews a lease while its job runs, so a long collection is not taken over mid-way."""

    def __init__(self, pipeline: Pipeline, name: str, owner: str, lease: timedelta) -> None:
        self.args = (pipeline, name, owner, lease)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        pipeline, name, owner, lease = self.args
        while not self.done.wait(lease.total_seconds() / 3):
            try:
                renewed = renew(pipeline.engine, name, owner, pipeline.clock.now() + lease)
            except DBAPIError as exc:  # database briefly away: the lease may still be saved
                log.warning("could not renew the lease of %s: %s", name, type(exc.orig).__name__)
                continue
            if not renewed:
                log.warning("lost the lease of %s", name)
                return

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def run_job(pipeline: Pipeline, job: Job, owner: str, lease: timedelta) -> None:
    """Run a claimed job under a heartbeat, then release it with its next run time."""
    started = pipeline.clock.now()
    log.info("job %s started by %s", job.name, owner)
    try:
        with _Heartbeat(pipeline, job.name, owner, lease):
            job.run()
    except Exception:
        log.exception("job %s failed", job.name)
    finally:
        finish(pipeline.engine, job.name, owner, pipeline.clock.now(), job.next_run(started))
        log.info("job %s finished by %s", job.name, owner)


def run_worker(
    pipeline: Pipeline,
    process_every: float,
    stop: threading.Event,
    owner: str | None = None,
    lease: timedelta = timedelta(minutes=2),
) -> None:
    """Claim and run due jobs until ``stop`` is set."""
    owner = owner or default_worker_id()
    jobs = {job.name: job for job in plan(pipeline, process_every)}
    ensure_jobs(pipeline.engine, list(jobs), pipeline.clock.now())
    log.info("worker %s started with %d job(s)", owner, len(jobs))
    outages = 0
    while not stop.is_set():
        try:
            wait = _step(pipeline, jobs, owner, lease)
            outages = 0
        except DBAPIError as exc:
            # The database restarted or is unreachable: pool_pre_ping reconnects once it is back.
            # A job interrupted here keeps its lease until it expires, then runs again.
            outages += 1
            wait = min(2.0**outages, MAX_OUTAGE_WAIT)
            log.warning("database unavailable (%s); retrying in %gs", type(exc.orig).__name__, wait)
        stop.wait(wait)
    log.info("worker %s stopped", owner)


def _step(pipeline: Pipeline, jobs: dict[str, Job], owner: str, lease: timedelta) -> float:
    """Claim and run what is due; returns how long to sleep before the next look."""
    now = pipeline.clock.now()
    claimed = claim(pipeline.engine, owner, now, lease, list(jobs))
    for name in claimed:
        run_job(pipeline, jobs[name], owner, lease)
    if claimed:
        return 0.0
    due = next_due(pipeline.engine, list(jobs))
    wait = (due - now).total_seconds() if due else 1.0
    return min(max(wait, 0.05), 1.0)
