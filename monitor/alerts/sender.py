"""The sender loop: delivers alerts as soon as detection queues them, independently of the
scheduler's processing cycle, so a slow scoring batch never delays an alert already decided.

Runs as a thread beside the scheduler (``run``/``demo``), or alone as ``python -m monitor alerts
send`` (e.g. on another machine sharing the PostgreSQL database: claims make senders safe to run
side by side).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from monitor.alerts.deliver import deliver_pending
from monitor.clock import Clock
from monitor.config import Settings, VigieConfig

log = logging.getLogger(__name__)


class AlertSender:
    """Delivers due alerts every ``poll_seconds``, or at once when woken."""

    def __init__(
        self,
        engine: Engine,
        config: VigieConfig,
        settings: Settings,
        clock: Clock,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine, self.config, self.settings, self.clock = engine, config, settings, clock
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()

    def wake(self) -> None:
        """Detection queued something: deliver now rather than at the next poll."""
        self._wake.set()

    def run_once(self) -> int:
        try:
            return deliver_pending(self.engine, self.config, self.settings, self.clock.now())
        except Exception:  # the database may be briefly unavailable: log and try again
            log.exception("alert delivery failed; retrying at the next poll")
            return 0

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set."""
        log.info("alert sender started (poll every %gs)", self.poll_seconds)
        while not stop.is_set():
            self.run_once()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        log.info("alert sender stopped")

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="alert-sender", daemon=True)
        thread.start()
        return thread
