"""Scheduling: each source on its own interval, and the score → detect → alert steps after them.

One failing source is logged and retried on its next turn; it never stops the others.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import schedule
from sqlalchemy import Engine

from monitor import history
from monitor.alerts.deliver import deliver_pending
from monitor.alerts.sender import AlertSender
from monitor.clock import Clock, ManualClock
from monitor.collectors.base import Collector, DisabledCollector
from monitor.collectors.health import RunPolicy
from monitor.collectors.runner import Run, run
from monitor.config import Settings, VigieConfig
from monitor.detection import detect
from monitor.scoring import load_model, score_pending
from monitor.storage.leader import Availability, Leadership

log = logging.getLogger(__name__)
REPORT_CHECK_MINUTES = 5
STANDBY_SECONDS = 5.0  # how often a standing-by scheduler looks at the lock


@dataclass
class Pipeline:
    """Everything a cycle needs; ``clock`` is simulated in the demo, the wall clock otherwise."""

    engine: Engine
    config: VigieConfig
    settings: Settings
    clock: Clock
    collectors: list[Collector] = field(default_factory=list)
    sender: AlertSender | None = None  # background sender; None: deliver within process()

    def collect(self, collector: Collector) -> Run:
        """Collect one source; errors are logged (and recorded) but never propagate."""
        try:
            return run(self.engine, collector, self.clock.now(), self.policy(collector))
        except Exception as exc:  # the database itself failing: the run could not be recorded
            log.exception("%s: collection could not run", collector.key)
            return Run(collector.key, "error", reason=f"{type(exc).__name__}: {exc}"[:500])

    def policy(self, collector: Collector) -> RunPolicy:
        """The source's interval and backoff cap from the config."""
        source = self.config.sources.get(collector.source)
        if source is None:
            return RunPolicy()
        return RunPolicy(source.interval_seconds, source.max_backoff_seconds)

    def process(self) -> None:
        """Score, detect, deliver; a failure (say, the database restarting) is logged, never
        propagated, so the scheduler lives on and the next cycle resumes from what is stored."""
        try:
            self.run_steps()
        except Exception:
            log.exception("processing failed; retried at the next cycle")

    def run_steps(self) -> None:
        """:meth:`process`, its failure raised (a worker's job is retried by the queue)."""
        model = load_model(self.config.scoring.model)
        score_pending(self.engine, model, self.config.scoring.batch_size, self.clock.now)
        now = self.clock.now()
        history.catch_up(self.engine, self.config, now)
        detect(self.engine, self.config, now)
        if self.sender is None:
            deliver_pending(self.engine, self.config, self.settings, now)
        else:
            self.sender.wake()

    def reports(self) -> int:
        """Send the weekly reports that are due (see ``reports:`` in the config); errors are
        logged, never propagated, and the report is retried on a later check."""
        # Imported here: matplotlib, scikit-learn and fpdf2 cost seconds, paid only when used.
        from monitor.reports.weekly import send_due_reports

        try:
            return send_due_reports(self.engine, self.config, self.settings, self.clock.now())
        except Exception:
            log.exception("weekly reports failed")
            return 0

    def cycle_runs(self) -> list[Run]:
        """Every collector once, then processing: what ``run --once`` does."""
        runs = [self.collect(c) for c in self.collectors]
        self.process()
        return runs

    def cycle(self) -> int:
        """:meth:`cycle_runs`, counting the new mentions."""
        return sum(r.new for r in self.cycle_runs())


def _interval(config: VigieConfig, collector: Collector) -> tuple[float, float]:
    """Bounds of the interval; whole seconds when jittered (``schedule`` draws with randint)."""
    source = config.sources[collector.source]
    if not source.jitter_seconds:
        return source.interval_seconds, source.interval_seconds
    low = max(1, round(source.interval_seconds))
    return low, low + max(1, round(source.jitter_seconds))


def build_schedule(pipeline: Pipeline, process_every: float) -> schedule.Scheduler:
    """A private scheduler (not the module-global one), so tests can run several side by side."""
    sched = schedule.Scheduler()
    for collector in pipeline.collectors:
        if isinstance(collector, DisabledCollector):
            pipeline.collect(collector)  # shows it as disabled in the health table, once
            continue
        low, high = _interval(pipeline.config, collector)
        job = sched.every(low)
        if high > low:
            job = job.to(high)
        job.seconds.do(pipeline.collect, collector).tag(collector.key)
    sched.every(process_every).seconds.do(pipeline.process).tag("process")
    if pipeline.config.reports.enabled:
        # A frequent, idempotent check rather than a weekly timer: it follows the pipeline's
        # clock, honours the configured time zone, and catches up after downtime.
        sched.every(REPORT_CHECK_MINUTES).minutes.do(pipeline.reports).tag("reports")
    return sched


def run_forever(pipeline: Pipeline, process_every: float, stop: threading.Event) -> None:
    """Run all jobs once, then each on its schedule until ``stop`` is set.

    Only while this process holds the database's scheduler lock (one scheduler per database;
    another one stands by), and only while the database answers (an outage is waited out with a
    backoff, then the schema is brought back if it was lost). Alerts go out from a sender thread,
    woken as soon as detection queues one.
    """
    sched = build_schedule(pipeline, process_every)
    log.info("scheduler started with %d collector(s)", len(pipeline.collectors))
    pipeline.sender = AlertSender(
        pipeline.engine, pipeline.config, pipeline.settings, pipeline.clock
    )
    sender = pipeline.sender.start(stop)
    lead, database = Leadership(pipeline.engine), Availability(pipeline.engine)
    started = False
    try:
        while not stop.is_set():
            wait = database.wait_seconds()
            if not wait and not lead.ensure():
                wait = STANDBY_SECONDS
            if wait:
                stop.wait(wait)
                continue
            if started:
                sched.run_pending()
            else:
                sched.run_all()
                started = True
            idle = sched.idle_seconds
            stop.wait(min(max(idle if idle is not None else 1.0, 0.05), 1.0))
    finally:
        lead.release()
        stop.set()
        pipeline.sender.wake()
        sender.join()
        pipeline.sender = None
    log.info("scheduler stopped")


def run_simulated(pipeline: Pipeline, minutes: int, step_minutes: int = 1) -> int:
    """Step a manual clock through ``minutes`` of simulated time, a full cycle per step."""
    clock = pipeline.clock
    if not isinstance(clock, ManualClock):
        raise TypeError("run_simulated needs a ManualClock")
    new = 0
    for _ in range(0, minutes, step_minutes):
        clock.advance(timedelta(minutes=step_minutes))
        new += pipeline.cycle()
    return new
