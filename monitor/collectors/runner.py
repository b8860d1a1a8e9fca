"""Run one collector: store each batch with its cursor, and record the collector's health."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, Engine

from monitor.collectors.base import Collector, DisabledCollector, Held
from monitor.collectors.health import Outcome, RunPolicy, add_usage, load_state, load_usage, record
from monitor.collectors.http import Meter, month_of
from monitor.storage.ingest import store_batch

log = logging.getLogger(__name__)


def _flush(conn: Connection, collector: Collector, meter: Meter | None, now: datetime) -> None:
    """Requests made so far count as used, in the same transaction as what they brought."""
    if meter is not None:
        add_usage(conn, collector.source, month_of(now), *meter.drain())


def _finish(
    engine: Engine,
    collector: Collector,
    meter: Meter | None,
    outcome: Outcome,
    policy: RunPolicy,
    now: datetime,
) -> None:
    with engine.begin() as conn:
        _flush(conn, collector, meter, now)
        record(conn, collector, outcome, policy, now)


def collect_once(
    engine: Engine,
    collector: Collector,
    now: datetime,
    policy: RunPolicy | None = None,
    force: bool = False,
) -> int:
    """Collect everything new since the saved cursor; returns the number of new mentions.

    Each batch and the cursor after it commit together: after a crash the next run resumes from
    the last committed batch, and the unique key on mentions absorbs any replayed item. A source
    held back (backoff, rate limit, quota) is skipped until its time unless ``force`` is given.
    Errors are recorded, then raised; a rate limit or quota ends the run without being an error.
    """
    policy = policy or RunPolicy()
    if isinstance(collector, DisabledCollector):
        _finish(engine, collector, None, Outcome("disabled", error=collector.reason), policy, now)
        return 0
    meter: Meter | None = getattr(collector, "meter", None)
    with engine.connect() as conn:
        cursor, not_before = load_state(conn, collector.key)
        if meter is not None:
            meter.open(*load_usage(conn, collector.source, month_of(now)), now)
    if not_before is not None and now < not_before and not force:
        log.debug("%s: held until %s", collector.key, not_before)
        return 0
    new = 0
    try:
        for batch in collector.collect(cursor, now):
            with engine.begin() as conn:
                new += store_batch(conn, collector, batch, now).new
                _flush(conn, collector, meter, now)
    except Held as held:
        log.info("%s: %s; next run after %s", collector.key, held, f"{held.until:%Y-%m-%d %H:%M}")
        outcome = Outcome(held.status, new, str(held), held.until)
        _finish(engine, collector, meter, outcome, policy, now)
        return new
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
        log.error("collector %s failed: %s", collector.key, error)
        _finish(engine, collector, meter, Outcome("error", new, error), policy, now)
        raise
    _finish(engine, collector, meter, Outcome("ok", new), policy, now)
    return new
