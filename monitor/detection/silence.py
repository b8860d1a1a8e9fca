"""Silent sources: a source that has brought nothing for improbably long, for its own rate.

Collectors only record what each run brought (``collector_state``); deciding that a source went
blind is detection. A gap is judged against the brand's stream on that source
(:mod:`monitor.detection.rates`): the chance of no mention at all since the last one, at the
usual rate for those hours of the day and week. Minutes of silence are news for a source that
brings fifty mentions an hour, a quiet night is not for one that brings two reviews a day, and a
source that is simply quiet never raises anything. The chance must fall below the brand's
sensitivity spread over the gaps a month holds, the collector must have run at least
``silent_after_intervals`` times since (0: never alert), and no source is silent before
``MIN_SILENCE`` (a source polled every few seconds that just caught up with the present has
brought nothing for a few runs, which is no news). One alert per source and day.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from monitor.alerts.outbox import raise_alert
from monitor.config import Brand, VigieConfig
from monitor.detection import rates
from monitor.storage.tables import CollectorState, Mention

log = logging.getLogger(__name__)
MIN_SILENCE = timedelta(minutes=30)
STATE = CollectorState.__table__


@dataclass(frozen=True, slots=True)
class Gap:
    """How long a source has brought nothing, and how improbable that is for it."""

    since: datetime
    empty_runs: int
    expected: float  # mentions the source usually brings in such a gap
    chance: float  # of a gap this long at its usual rate
    threshold: float


def gap(streams: rates.Streams, source: str, runs: list[list[Any]], last_new: datetime,
        now: datetime, sensitivity: str | float) -> Gap | None:
    """The gap since ``last_new``, judged on the rate learnt before it; None without history."""
    rate = streams.rate(source, "mentions", last_new, timedelta(hours=1))
    if rate is None:
        return None
    exposure = streams.season.exposure(last_new, now)
    gaps_a_month = max(rate.per_hour * (rates.MONTH / timedelta(hours=1)), 1.0)
    empty = sum(1 for at, new, _ in runs if at > last_new.timestamp() and not new)
    return Gap(last_new, empty, rate.expected(exposure), rate.quiet_chance(exposure),
               rates.false_alarms(sensitivity) / gaps_a_month)


def _collectors(conn: Connection, brand: str) -> list[Any]:
    query = select(STATE.c.key, STATE.c.source, STATE.c.recent_runs, STATE.c.last_error).where(
        STATE.c.brand == brand, STATE.c.status.is_not(None), STATE.c.status != "disabled"
    )
    return list(conn.execute(query))


def _last_new(conn: Connection, brand: str, source: str) -> datetime | None:
    query = select(func.max(Mention.collected_at)).where(Mention.brand == brand,
                                                         Mention.source == source)
    return conn.execute(query).scalar()


def _alert(conn: Connection, brand: str, key: str, source: str, found: Gap,
           error: str | None, now: datetime) -> bool:
    minutes = int((now - found.since).total_seconds() // 60)
    queued = raise_alert(
        conn,
        kind="silent",
        dedup_key=f"silent:{key}:{now:%Y-%m-%d}",
        brand=brand,
        title=f"{source} has brought no mention of {brand} for {minutes} min",
        details={
            "source": source,
            "collector": key,
            "last_new_at": found.since.isoformat(),
            "runs_without_new": found.empty_runs,
            "usual_in_gap": round(found.expected, 1),
            "chance": float(f"{found.chance:.3g}"),
            "last_error": error,
        },
        now=now,
    )
    if queued:
        log.warning("%s: silent for %d min although it usually brings %.1f in that time",
                    key, minutes, found.expected)
    return queued


def _min_runs(config: VigieConfig, source: str) -> int:
    settings = config.sources.get(source)
    return settings.silent_after_intervals if settings is not None else 6


def brand_silences(engine: Engine, config: VigieConfig, brand: Brand, now: datetime) -> int:
    """Queue a silent alert for each of the brand's sources gone improbably quiet."""
    queued = 0
    with engine.begin() as conn:
        collectors = _collectors(conn, brand.name)
        if not collectors:
            return 0
        streams = rates.streams(conn, brand.name, now,
                                timedelta(hours=brand.alerts.volume.baseline_hours))
        for row in collectors:
            needed = _min_runs(config, row.source)
            last_new = _last_new(conn, brand.name, row.source)
            if needed <= 0 or last_new is None or now - last_new < MIN_SILENCE:
                continue
            found = gap(streams, row.source, list(row.recent_runs or []), last_new, now,
                        brand.alerts.volume.sensitivity)
            if found is not None and found.empty_runs >= needed and found.chance < found.threshold:
                queued += _alert(conn, brand.name, row.key, row.source, found, row.last_error,
                                 now)
    return queued


def silent_alerts(engine: Engine, config: VigieConfig, now: datetime) -> int:
    """Every brand's silent sources; a brand that fails is logged, the others still checked."""
    queued = 0
    for brand in config.brands:
        try:
            queued += brand_silences(engine, config, brand, now)
        except Exception:
            log.exception("silence detection failed for brand %s", brand.name)
    return queued
