"""Volume and negative-share spikes of a brand, in 10-minute and hourly windows.

The expected count of a window is seasonal when there is history for it (the same clock time on
the previous ``seasonal_days`` days: mornings are busier than nights), else the mean window of
the last ``baseline_hours``. A spike must be unlikely under that expectation (Poisson for the
count, binomial for the negative share; ``sensitivity`` sets how unlikely), ``factor`` times the
usual volume, and at least ``min_count`` mentions; after an alert, the same kind waits
``cooldown_minutes`` before the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scipy.stats import binom, poisson
from sqlalchemy import Connection, Engine, case, func, select

from monitor.alerts.outbox import raise_alert
from monitor.config import Brand, VolumeRule
from monitor.storage.tables import Alert, Mention, Sentiment

ALPHA = {"fewer": 1e-5, "balanced": 1e-4, "more": 1e-3}
"""Chance of a window this extreme under the usual rate, below which it is a spike."""
HOURLY = 60


@dataclass(frozen=True, slots=True)
class Window:
    """Mentions and negative mentions of one time window."""

    start: datetime
    end: datetime
    total: int
    negative: int


@dataclass(frozen=True, slots=True)
class Spike:
    """A window far above what is usual for it."""

    kind: str  # "volume" or "negative"
    window: Window
    minutes: int
    expected: float
    expected_share: float
    seasonal: bool
    p_value: float


def _window(conn: Connection, brand: str, start: datetime, end: datetime) -> Window:
    negative = func.coalesce(func.sum(case((Sentiment.label == "negative", 1), else_=0)), 0)
    query = (
        select(func.count(), negative)
        .select_from(Mention)
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .where(Mention.brand == brand, Mention.created_at >= start, Mention.created_at < end)
    )
    total, neg = conn.execute(query).one()
    return Window(start, end, int(total), int(neg))


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a window usually holds: mentions, share of negatives, and whether it is seasonal."""

    count: float
    share: float
    seasonal: bool


def baseline(
    conn: Connection, brand: str, start: datetime, minutes: int, rule: VolumeRule, first: datetime
) -> Baseline | None:
    """The same window on previous days when there are some, else the recent mean window."""
    width = timedelta(minutes=minutes)
    days = [d for d in range(1, rule.seasonal_days + 1) if start - timedelta(days=d) >= first]
    if days:
        past = [_window(conn, brand, start - timedelta(days=d), start - timedelta(days=d) + width)
                for d in days]
        count = sum(w.total for w in past) / len(past)
        negative = sum(w.negative for w in past)
        return Baseline(count, negative / max(sum(w.total for w in past), 1), True)
    history_start = max(start - timedelta(hours=rule.baseline_hours), first)
    if start - history_start < width:
        return None  # not enough history for a baseline yet
    recent = _window(conn, brand, history_start, start)
    windows = (start - history_start) / width
    return Baseline(recent.total / windows, recent.negative / max(recent.total, 1), False)


def _volume(current: Window, usual: Baseline, rule: VolumeRule, alpha: float) -> float | None:
    """p-value of the count when it is a spike, else None."""
    expected = max(usual.count, 1.0)
    if current.total < rule.min_count or current.total < rule.factor * expected:
        return None
    p = float(poisson.sf(current.total - 1, expected))
    return p if p < alpha else None


def _negative(current: Window, usual: Baseline, rule: VolumeRule, alpha: float) -> float | None:
    """p-value of the negative share when it jumped by ``negative_share_increase``, else None."""
    if current.total < rule.min_count:
        return None
    share = current.negative / current.total
    p0 = min(max(usual.share, 0.01), 0.99)
    if share < p0 + rule.negative_share_increase:
        return None
    p = float(binom.sf(current.negative - 1, current.total, p0))
    return p if p < alpha else None


def find_spikes(engine: Engine, brand: Brand, now: datetime) -> list[Spike]:
    """Spikes of the windows ending now (10-minute or as configured, and hourly)."""
    rule = brand.alerts.volume
    alpha = ALPHA[rule.sensitivity]
    found = []
    with engine.connect() as conn:
        first = conn.execute(
            select(func.min(Mention.created_at)).where(Mention.brand == brand.name)
        ).scalar()
        if first is None:
            return []
        for minutes in sorted({rule.window_minutes, HOURLY}):
            start = now - timedelta(minutes=minutes)
            usual = baseline(conn, brand.name, start, minutes, rule, first)
            if usual is None:
                continue
            current = _window(conn, brand.name, start, now)
            for kind, test in (("volume", _volume), ("negative", _negative)):
                p = test(current, usual, rule, alpha)
                if p is not None:
                    found.append(Spike(kind, current, minutes, usual.count, usual.share,
                                       usual.seasonal, p))
    return found


def _last_spike_at(conn: Connection, brand: str, kind: str) -> datetime | None:
    query = select(Alert.created_at).where(
        Alert.brand == brand, Alert.kind == "volume", Alert.dedup_key.like(f"{kind}:%")
    )
    return conn.execute(query.order_by(Alert.created_at.desc()).limit(1)).scalar()


def _title(brand: str, spike: Spike) -> str:
    w = spike.window
    if spike.kind == "volume":
        return (f"Mention volume spike for {brand}: {w.total:,} in {spike.minutes} min "
                f"(usual {spike.expected:.1f})")
    return (f"Negative mentions of {brand} jump: {w.negative / w.total:.0%} of {w.total:,} in "
            f"{spike.minutes} min (usual {spike.expected_share:.0%})")


def _details(spike: Spike) -> dict[str, Any]:
    w = spike.window
    return {
        "count": w.total,
        "negative": w.negative,
        "negative_share": round(w.negative / max(w.total, 1), 3),
        "baseline": round(spike.expected, 2),
        "baseline_negative_share": round(spike.expected_share, 3),
        "baseline_kind": "same time on previous days" if spike.seasonal else "recent hours",
        "p_value": float(f"{spike.p_value:.3g}"),
        "window_minutes": spike.minutes,
        "window_start": w.start.isoformat(),
    }


def alert(engine: Engine, brand: Brand, spike: Spike, now: datetime) -> bool:
    """Queue the spike's alert unless the same kind fired within the cooldown."""
    rule = brand.alerts.volume
    with engine.begin() as conn:
        last = _last_spike_at(conn, brand.name, spike.kind)
        if last is not None and now - last < timedelta(minutes=rule.cooldown_minutes):
            return False
        return raise_alert(
            conn,
            kind="volume",
            dedup_key=f"{spike.kind}:{brand.name}:{spike.minutes}:{spike.window.start:%Y%m%dT%H%M}",
            brand=brand.name,
            title=_title(brand.name, spike),
            details=_details(spike),
            now=now,
        )


def spike_alerts(engine: Engine, brand: Brand, now: datetime) -> int:
    """Find the brand's spikes and queue their alerts (strongest first); returns alerts queued."""
    spikes = sorted(find_spikes(engine, brand, now), key=lambda s: s.p_value)
    return sum(alert(engine, brand, s, now) for s in spikes)
