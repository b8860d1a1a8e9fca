"""Run one collector: store each batch with its cursor, and record the collector's health."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection, Engine

from monitor.collectors.base import Collector, DisabledCollector, Held
from monitor.collectors.health import Outcome, RunPolicy, add_usage, load_state, load_usage, record
from monitor.collectors.quota import Meter, RequestBudget, month_of
from monitor.mentions import Batch
from monitor.storage import quarantine
from monitor.storage.ingest import store_batch

log = logging.getLogger(__name__)


def _flush(conn: Connection, collector: Collector, meter: Meter | None, now: datetime) -> None:
    """Requests made so far count as used, in the same transaction as what they brought."""
    if meter is not None:
        add_usage(conn, collector.source, month_of(now), *meter.drain())
        if meter.units is not None:
            add_usage(conn, collector.source, meter.units.period(now), meter.units.drain(), 0)


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


@dataclass(frozen=True, slots=True)
class Run:
    """How one collection went, in words a user can act on.

    ``status`` is ``ok``, ``error``, ``disabled``, ``waiting`` (backing off or held from an
    earlier run: not contacted) or a hold met during this run (``rate_limited``, ``quota``).
    ``new`` counts what was stored even when the run then failed.
    """

    key: str
    status: str
    new: int = 0
    reason: str | None = None
    failure: Exception | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        line = f"{self.key}: {self.new} new mention(s)"
        return line if self.ok else f"{line}; {self.status}: {self.reason}"


def _checked(collector: Collector, batch: Batch) -> Batch:
    """Every source's mentions pass the same check: one that cannot be stored is set aside."""
    good, rejected = [], list(batch.rejected)
    for mention in batch.mentions:
        why = quarantine.problem(mention, collector.source)
        if why is None:
            good.append(mention)
        else:
            rejected.append(quarantine.reject(mention, why))
    return replace(batch, mentions=good, rejected=rejected)


def _store(conn: Connection, collector: Collector, batch: Batch, now: datetime) -> int:
    batch = _checked(collector, batch)
    new = store_batch(conn, collector, batch, now).new
    for item in quarantine.put(conn, collector, batch.rejected, now):
        log.warning(
            "%s: an item could not be read and was set aside (python -m monitor quarantine): %s",
            collector.key,
            item.error,
        )
    return new


def run(
    engine: Engine,
    collector: Collector,
    now: datetime,
    policy: RunPolicy | None = None,
    force: bool = False,
) -> Run:
    """Collect everything new since the saved cursor, and say how it went (never raises).

    Each batch and the cursor after it commit together: after a crash the next run resumes from
    the last committed batch, and the unique key on mentions absorbs any replayed item. A source
    held back (backoff, rate limit, quota) is skipped until its time unless ``force`` is given.
    """
    policy = policy or RunPolicy()
    if isinstance(collector, DisabledCollector):
        _finish(engine, collector, None, Outcome("disabled", error=collector.reason), policy, now)
        return Run(collector.key, "disabled", reason=collector.reason.removeprefix("disabled: "))
    meter: Meter | None = getattr(collector, "meter", None)
    budget: RequestBudget | None = getattr(collector, "budget", None)
    if budget is not None:
        budget.open()
    with engine.connect() as conn:
        cursor, not_before = load_state(conn, collector.key)
        if meter is not None:
            meter.open(*load_usage(conn, collector.source, month_of(now)), now)
            if meter.units is not None:
                used = load_usage(conn, collector.source, meter.units.period(now))[0]
                meter.units.open(used, now)
    if not_before is not None and now < not_before and not force:
        reason = f"not contacted: held after earlier failures until {not_before:%Y-%m-%d %H:%M} UTC"
        log.debug("%s: %s", collector.key, reason)
        return Run(collector.key, "waiting", reason=reason)
    new = 0
    try:
        for batch in collector.collect(cursor, now):
            with engine.begin() as conn:
                new += _store(conn, collector, batch, now)
                _flush(conn, collector, meter, now)
    except Held as held:
        log.info("%s: %s; next run after %s", collector.key, held, f"{held.until:%Y-%m-%d %H:%M}")
        outcome = Outcome(held.status, new, str(held), held.until)
        _finish(engine, collector, meter, outcome, policy, now)
        return Run(collector.key, held.status, new, str(held))
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
        log.error("collector %s failed: %s", collector.key, error)
        _finish(engine, collector, meter, Outcome("error", new, error), policy, now)
        return Run(collector.key, "error", new, error, exc)
    _finish(engine, collector, meter, Outcome("ok", new), policy, now)
    return Run(collector.key, "ok", new)


def collect_once(
    engine: Engine,
    collector: Collector,
    now: datetime,
    policy: RunPolicy | None = None,
    force: bool = False,
) -> int:
    """:func:`run`, for callers that want the new mentions' count and the error raised."""
    result = run(engine, collector, now, policy, force)
    if result.failure is not None:
        raise result.failure
    return result.new
