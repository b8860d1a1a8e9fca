"""Detect stage: rules that turn stored, scored mentions into alerts in the outbox.

Two first rules: a complaint whose reshares grow faster than the brand's threshold (spreading),
and a brand whose mention volume jumps well above its recent baseline (volume spike). Each alert
is written with a dedup key, so running detection again never queues the same alert twice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from monitor.alerts.outbox import last_alert_at, raise_alert
from monitor.config import Brand, VigieConfig
from monitor.storage.tables import EngagementSnapshot, Mention, Sentiment

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Spread:
    """Reshare growth of one mention over the observation window."""

    mention_id: int
    reshares: int
    per_hour: float


def _growth(points: list[tuple[datetime, int]], created: datetime, since: datetime) -> float:
    """Reshares per hour between the window's first point (or publication) and its last."""
    points.sort()
    last_t, last_n = points[-1]
    base_t, base_n = (created, 0) if created >= since else points[0]
    hours = max((last_t - base_t).total_seconds() / 3600, 1 / 6)
    return max(last_n - base_n, 0) / hours


def spreading(engine: Engine, brand: Brand, now: datetime) -> list[Spread]:
    """Negative mentions of ``brand`` whose reshares grow past the configured rate."""
    rule = brand.alerts.spreading
    since = now - timedelta(hours=1)
    query = (
        select(
            Mention.id,
            Mention.created_at,
            EngagementSnapshot.observed_at,
            EngagementSnapshot.reshares,
        )
        .join(EngagementSnapshot, EngagementSnapshot.mention_id == Mention.id)
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .where(
            Mention.brand == brand.name,
            EngagementSnapshot.observed_at >= since,
            EngagementSnapshot.observed_at <= now,
            EngagementSnapshot.reshares.is_not(None),
        )
    )
    if rule.negative_only:
        query = query.where(Sentiment.label == "negative")
    series: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    created: dict[int, datetime] = {}
    with engine.connect() as conn:
        for mention_id, created_at, observed_at, reshares in conn.execute(query):
            series[mention_id].append((observed_at, reshares))
            created[mention_id] = created_at
    found = []
    for mention_id, points in series.items():
        rate = _growth(points, created[mention_id], since)
        latest = max(points)[1]
        if latest >= rule.min_reshares and rate >= rule.reshares_per_hour:
            found.append(Spread(mention_id, latest, rate))
    return sorted(found, key=lambda s: -s.per_hour)


def _count(engine: Engine, brand: str, start: datetime, end: datetime) -> int:
    query = select(func.count()).where(
        Mention.brand == brand, Mention.created_at >= start, Mention.created_at < end
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


@dataclass(frozen=True, slots=True)
class VolumeSpike:
    window_start: datetime
    count: int
    baseline: float


def volume_spike(engine: Engine, brand: Brand, now: datetime) -> VolumeSpike | None:
    """The current window's count if it exceeds ``factor`` × the mean of the baseline windows."""
    rule = brand.alerts.volume
    window = timedelta(minutes=rule.window_minutes)
    start = now - window
    current = _count(engine, brand.name, start, now)
    if current < rule.min_count:
        return None
    history_start = start - timedelta(hours=rule.baseline_hours)
    with engine.connect() as conn:
        first = conn.execute(
            select(func.min(Mention.created_at)).where(Mention.brand == brand.name)
        ).scalar()
    if first is None or first > start - window:
        return None  # not enough history for a baseline yet
    history_start = max(history_start, first)
    windows = max((start - history_start) / window, 1.0)
    baseline = _count(engine, brand.name, history_start, start) / windows
    if current >= rule.factor * max(baseline, 1.0):
        return VolumeSpike(start, current, baseline)
    return None


def _severity(rate: float, threshold: float) -> str:
    return "high" if rate >= 3 * threshold else "warning"


def _alert_spread(engine: Engine, brand: Brand, spread: Spread, now: datetime) -> bool:
    with engine.begin() as conn:
        row = conn.execute(
            select(
                Mention.text,
                Mention.author,
                Mention.url,
                Mention.author_followers,
                Mention.source,
                Mention.language,
            ).where(Mention.id == spread.mention_id)
        ).one()
        return raise_alert(
            conn,
            kind="spreading",
            dedup_key=f"spreading:{spread.mention_id}",
            brand=brand.name,
            mention_id=spread.mention_id,
            severity=_severity(spread.per_hour, brand.alerts.spreading.reshares_per_hour),
            title=f"Complaint about {brand.name} spreading: "
            f"{spread.reshares} reshares, +{spread.per_hour:.0f}/h",
            details={
                "text": row.text,
                "author": row.author,
                "url": row.url,
                "author_followers": row.author_followers,
                "source": row.source,
                "language": row.language,
                "reshares": spread.reshares,
                "reshares_per_hour": round(spread.per_hour, 1),
            },
            now=now,
            metric=spread.reshares,
            escalation_factor=brand.alerts.escalation_factor,
        )


def _alert_volume(engine: Engine, brand: Brand, spike: VolumeSpike, now: datetime) -> bool:
    rule = brand.alerts.volume
    with engine.begin() as conn:
        last = last_alert_at(conn, brand.name, "volume")
        if last is not None and now - last < timedelta(minutes=rule.cooldown_minutes):
            return False
        return raise_alert(
            conn,
            kind="volume",
            dedup_key=f"volume:{brand.name}:{spike.window_start:%Y%m%dT%H%M}",
            brand=brand.name,
            title=f"Mention volume spike for {brand.name}: {spike.count} in "
            f"{rule.window_minutes} min (usual {spike.baseline:.1f})",
            details={
                "count": spike.count,
                "baseline": round(spike.baseline, 2),
                "window_minutes": rule.window_minutes,
                "window_start": spike.window_start.isoformat(),
            },
            now=now,
        )


def detect(engine: Engine, config: VigieConfig, now: datetime) -> int:
    """Run every rule for every brand; returns how many new alerts were queued."""
    queued = 0
    for brand in config.brands:
        for spread in spreading(engine, brand, now):
            queued += _alert_spread(engine, brand, spread, now)
        spike = volume_spike(engine, brand, now)
        if spike is not None:
            queued += _alert_volume(engine, brand, spike, now)
    if queued:
        log.info("detection queued %d alert(s)", queued)
    return queued
