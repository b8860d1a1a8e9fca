"""Virality: refresh each spreading mention's forecast and risk, and warn before it goes viral.

Each cycle takes the brand's recent mentions that got a new engagement snapshot since their last
forecast (complaints and negatives first), forecasts their final reshares from the sparse polls
(:mod:`models.spread`), stores the forecast with its risk in ``forecasts`` (the dashboard reads
it), and queues a ``spreading`` alert when the forecast crosses the brand's threshold within
``warn_hours`` or the reshares already grow faster than ``reshares_per_hour``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from models.spread import SpreadForecast, forecast_snapshots
from monitor.alerts.outbox import raise_alert
from monitor.alerts.view import crossing_phrase
from monitor.config import Brand
from monitor.detection.risk import ComplaintSignals, Risk, complaint_risk, severity
from monitor.storage.tables import EngagementSnapshot, Forecast, Mention, Response, Sentiment

TRACK = timedelta(hours=48)
"""Mentions older than this are not forecast any more (the polls stop well before)."""
MAX_PER_CYCLE = 1000
"""Forecasts per brand and cycle, complaints first; the rest wait for the next cycle."""
MIN_OBSERVE_S = 60.0


@dataclass(slots=True)
class Candidate:
    """A mention with a new engagement snapshot, and what its risk needs."""

    mention_id: int
    created_at: datetime
    followers: int | None
    label: str | None
    score: float
    complaint: bool
    answered: bool
    polls: list[tuple[datetime, int]]

    @property
    def negativity(self) -> float:
        return self.score if self.label == "negative" else 0.0

    @property
    def latest(self) -> int:
        return max(n for _, n in self.polls)


@dataclass(frozen=True, slots=True)
class Spread:
    """One mention's forecast, growth and risk as stored and alerted on."""

    mention_id: int
    reshares: int
    per_hour: float
    forecast: SpreadForecast
    seconds_to_threshold: float | None
    risk: Risk
    negative: bool


def _candidates(conn: Connection, brand: Brand, now: datetime) -> dict[int, Candidate]:
    """Recent mentions whose newest snapshot is newer than their forecast (or never forecast)."""
    fresh = (
        select(EngagementSnapshot.mention_id)
        .join(Mention, Mention.id == EngagementSnapshot.mention_id)
        .outerjoin(Forecast, Forecast.mention_id == Mention.id)
        .where(
            Mention.brand == brand.name,
            Mention.created_at >= now - TRACK,
            EngagementSnapshot.observed_at <= now,
            EngagementSnapshot.reshares > 0,
            or_(
                Forecast.mention_id.is_(None),
                EngagementSnapshot.observed_at > Forecast.computed_at,
            ),
        )
        .distinct()
    )
    query = (
        select(
            Mention.id, Mention.created_at, Mention.author_followers, Sentiment.label,
            Sentiment.score, Sentiment.is_complaint, Response.answered_at,
        )
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .outerjoin(Response, Response.mention_id == Mention.id)
        .where(Mention.id.in_(fresh))
        # complaints first, then negatives: the database keeps only what this cycle forecasts
        .order_by(
            case((Sentiment.is_complaint.is_(True), 0), else_=1),
            case((Sentiment.label == "negative", 0), else_=1),
            Mention.id,
        )
        .limit(MAX_PER_CYCLE)
    )
    return {
        row.id: Candidate(row.id, row.created_at, row.author_followers, row.label,
                          row.score or 0.0, bool(row.is_complaint), row.answered_at is not None, [])
        for row in conn.execute(query)
    }


def _load_polls(conn: Connection, candidates: dict[int, Candidate], now: datetime) -> None:
    ids = list(candidates)
    for start in range(0, len(ids), 500):
        query = select(
            EngagementSnapshot.mention_id, EngagementSnapshot.observed_at,
            EngagementSnapshot.reshares,
        ).where(
            EngagementSnapshot.mention_id.in_(ids[start : start + 500]),
            EngagementSnapshot.observed_at <= now,
            EngagementSnapshot.reshares.is_not(None),
        )
        for mention_id, observed_at, reshares in conn.execute(query):
            candidates[mention_id].polls.append((observed_at, reshares))


def _per_hour(c: Candidate, now: datetime) -> float:
    """Reshares gained over the last hour (since publication when younger)."""
    since = now - timedelta(hours=1)
    polls = sorted(c.polls)
    base_t, base_n = (c.created_at, 0) if c.created_at >= since else polls[0]
    for t, n in polls:
        if t <= since:
            base_t, base_n = t, n
    last_t, last_n = polls[-1]
    hours = max((last_t - base_t).total_seconds() / 3600, 1 / 6)
    return max(last_n - base_n, 0) / hours


def assess(c: Candidate, brand: Brand, now: datetime) -> Spread:
    """Forecast, growth and risk of one candidate."""
    rules = brand.alerts
    polls = [(max((t - c.created_at).total_seconds(), 1.0), float(n)) for t, n in c.polls]
    observe_s = max(max(t for t, _ in polls), MIN_OBSERVE_S)
    forecast = forecast_snapshots(polls, c.followers or 0, observe_s)
    eta = forecast.seconds_to_threshold(rules.spreading.threshold)
    per_hour = _per_hour(c, now)
    risk = complaint_risk(
        ComplaintSignals(
            predicted=forecast.final,
            reshares=c.latest,
            per_hour=per_hour,
            followers=c.followers,
            negativity=c.negativity,
            unanswered_s=None if c.answered else (now - c.created_at).total_seconds(),
        ),
        rules,
    )
    return Spread(c.mention_id, c.latest, per_hour, forecast, eta, risk,
                  c.label == "negative" or c.complaint)


def _forecast_row(spread: Spread, now: datetime) -> dict[str, Any]:
    f = spread.forecast
    return {
        "mention_id": spread.mention_id,
        "computed_at": now,
        "reshares_now": spread.reshares,
        "final": round(f.final, 1),
        "low": round(f.low, 1),
        "high": round(f.high, 1),
        "seconds_to_threshold": spread.seconds_to_threshold,
        "risk": spread.risk.score,
        "reasons": spread.risk.reasons,
    }


def store_forecasts(conn: Connection, spreads: list[Spread], now: datetime) -> None:
    """Insert or refresh the forecast rows (one per mention)."""
    if not spreads:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Forecast.__table__)
    columns = ("computed_at", "reshares_now", "final", "low", "high", "seconds_to_threshold",
               "risk", "reasons")
    stmt = stmt.on_conflict_do_update(
        index_elements=["mention_id"], set_={c: stmt.excluded[c] for c in columns}
    )
    conn.execute(stmt, [_forecast_row(s, now) for s in spreads])


def refresh(engine: Engine, brand: Brand, now: datetime) -> list[Spread]:
    """Forecast every mention of ``brand`` with new engagement, and store the results."""
    with engine.connect() as conn:
        candidates = _candidates(conn, brand, now)
        _load_polls(conn, candidates, now)
    spreads = [assess(c, brand, now) for c in candidates.values() if c.polls]
    with engine.begin() as conn:
        store_forecasts(conn, spreads, now)
    return spreads


def should_alert(spread: Spread, brand: Brand) -> bool:
    """Warn on a predicted crossing (before it happens), a high risk, or a fast growth."""
    rule = brand.alerts.spreading
    if rule.negative_only and not spread.negative:
        return False
    if spread.reshares < rule.min_reshares:
        return False
    eta = spread.seconds_to_threshold
    predicted = eta is not None and eta <= rule.warn_hours * 3600
    risky = spread.risk.score >= brand.alerts.risk.alert
    return predicted or risky or spread.per_hour >= rule.reshares_per_hour


def crossing(spread: Spread, threshold: float) -> tuple[float | None, float | None]:
    """Seconds until ``threshold`` in the forecast's high and low scenarios (None: never)."""
    f = spread.forecast
    return f.seconds_to_threshold(threshold, "high"), f.seconds_to_threshold(threshold, "low")


def _title(brand: Brand, spread: Spread) -> str:
    eta = spread.seconds_to_threshold
    threshold = brand.alerts.spreading.threshold
    f = spread.forecast
    if eta is not None and eta <= brand.alerts.spreading.warn_hours * 3600:
        when = crossing_phrase(*crossing(spread, threshold)) or "within the forecast's horizon"
        return (f"Complaint about {brand.name} set to pass {threshold:,} reshares {when}: "
                f"{spread.reshares:,} so far, ≈{f.final:,.0f} expected "
                f"(likely {f.low:,.0f}–{f.high:,.0f})")
    return (f"Complaint about {brand.name} spreading: {spread.reshares:,} reshares, "
            f"+{spread.per_hour:.0f}/h")


def alert_details(brand: Brand, spread: Spread) -> dict[str, Any]:
    """The keys the alert composer reads (forecast, threshold, risk), plus the forecast's own
    reasons; mention fields are filled in from the database when the alert is shown."""
    f = spread.forecast
    earliest, latest = crossing(spread, brand.alerts.spreading.threshold)
    return {
        "reshares": spread.reshares,
        "reshares_per_hour": round(spread.per_hour, 1),
        "forecast_final": round(f.final),
        "forecast_low": round(f.low),
        "forecast_high": round(f.high),
        "forecast_horizon_hours": round(f.horizon_s / 3600),
        "seconds_to_threshold": spread.seconds_to_threshold,
        "threshold_earliest_s": earliest,
        "threshold_latest_s": latest,
        "threshold": brand.alerts.spreading.threshold,
        "risk": spread.risk.score,
        "risk_reasons": spread.risk.reason_lines(),
        "forecast_reasons": list(f.reasons),
    }


def alert(engine: Engine, brand: Brand, spread: Spread, now: datetime) -> bool:
    """Queue (or escalate, when the forecast doubled) the mention's one spreading alert."""
    with engine.begin() as conn:
        return raise_alert(
            conn,
            kind="spreading",
            dedup_key=f"spreading:{spread.mention_id}",
            brand=brand.name,
            mention_id=spread.mention_id,
            severity=severity(spread.risk.score, brand.alerts),
            title=_title(brand, spread),
            details=alert_details(brand, spread),
            now=now,
            metric=max(spread.forecast.final, float(spread.reshares)),
            escalation_factor=brand.alerts.escalation_factor,
        )


def spreading_alerts(engine: Engine, brand: Brand, now: datetime) -> int:
    """Refresh forecasts and alert on those that will spread; returns alerts queued."""
    due = [s for s in refresh(engine, brand, now) if should_alert(s, brand)]
    return sum(alert(engine, brand, s, now) for s in sorted(due, key=lambda s: -s.risk.score))
