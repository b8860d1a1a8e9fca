"""The database schema (SQLAlchemy 2.0 typed ORM). Alembic migrations are generated from it.

Times are stored as naive UTC and read back as aware UTC, so SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Vigie stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Mention(Base):
    """One public post, comment or review that names a brand."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_mentions_source_external_id"),
        Index("ix_mentions_brand_created", "brand", "created_at"),
        Index("ix_mentions_created", "created_at"),
        Index("ix_mentions_source_brand_created", "source", "brand", "created_at"),
        Index("ix_mentions_language_brand_created", "language", "brand", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    brand: Mapped[str] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(256))
    author_followers: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime]
    collected_at: Mapped[datetime]
    parent_id: Mapped[str | None] = mapped_column(String(255))
    thread_id: Mapped[str | None] = mapped_column(String(255))


class EngagementSnapshot(Base):
    """Engagement counts of a mention as seen at one poll; the series measures spreading."""

    __tablename__ = "engagement_snapshots"
    __table_args__ = (Index("ix_engagement_mention_observed", "mention_id", "observed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    observed_at: Mapped[datetime]
    likes: Mapped[int | None] = mapped_column(BigInteger)
    reshares: Mapped[int | None] = mapped_column(BigInteger)
    replies: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)


class Sentiment(Base):
    """The current model's reading of a mention; ``model_id`` tells which rows need rescoring."""

    __tablename__ = "sentiments"
    __table_args__ = (
        Index("ix_sentiments_label", "label"),
        Index("ix_sentiments_model", "model_id"),
    )

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    is_complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint_score: Mapped[float] = mapped_column(Float, default=0.0)
    # complaint, question (or request: needs an answer, is no incident) or other; NULL for
    # readings made before intents existed.
    intent: Mapped[str | None] = mapped_column(String(12))
    model_id: Mapped[str] = mapped_column(String(128))
    scored_at: Mapped[datetime]


class Alert(Base):
    """The alert outbox: written with the detection, delivered later by the sender."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    brand: Mapped[str] = mapped_column(String(64))
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id", ondelete="SET NULL"))
    severity: Mapped[str] = mapped_column(String(8), default="warning")
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    metric: Mapped[float | None] = mapped_column(Float)
    released_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class AlertDelivery(Base):
    """One revision of an alert to one recipient or chat target, with its own state.

    A row is claimed (with a lease) before sending and marked after, so a retry or a crashed
    sender never sends the same revision twice to someone who already has it. Rows sharing
    ``unit`` and ``target`` go out as one message (a digest).
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "alert_id", "revision", "channel", "target", name="uq_alert_deliveries_target"
        ),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_unit", "unit", "target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(255))
    unit: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The revision as released (title, severity, details): what this row sends, even when the
    # alert has moved on to a later revision before the row is sent (crashes, retries).
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Response(Base):
    """Where the brand's answer to a complaint stands."""

    __tablename__ = "responses"
    __table_args__ = (Index("ix_responses_status", "status"),)

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(12), default="new")
    assignee: Mapped[str | None] = mapped_column(String(128))
    answered_at: Mapped[datetime | None]
    reply_url: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class CollectorState(Base):
    """Cursor and health of one collector (a source for a brand)."""

    __tablename__ = "collector_state"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(64))
    cursor: Mapped[dict[str, Any] | None]
    last_run_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_items: Mapped[int] = mapped_column(Integer, default=0)
    items_total: Mapped[int] = mapped_column(BigInteger, default=0)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # ok / error / disabled / rate_limited / quota; None until the first run.
    status: Mapped[str | None] = mapped_column(String(16))
    # Not before this time (error backoff, rate-limit reset, quota renewal); None = on schedule.
    next_run_at: Mapped[datetime | None]
    # The last runs as [epoch seconds, new items, ok], oldest first: what "usually" means.
    recent_runs: Mapped[list[Any] | None] = mapped_column(JSON)


class Quarantined(Base):
    """An item a source sent that could not be read, kept as sent with why: it blocked nothing,
    and a person can see it (``python -m monitor quarantine``, Sources & settings)."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint", name="uq_quarantine_source_fingerprint"),
        Index("ix_quarantine_last_seen", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    collector: Mapped[str] = mapped_column(String(160))
    brand: Mapped[str | None] = mapped_column(String(64))
    # sha256 of the payload: the same bad item in every poll is one row, logged once.
    fingerprint: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)


class ApiUsage(Base):
    """Requests and items read per paid API and month, shared by all brands (quota checks)."""

    __tablename__ = "api_usage"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    items: Mapped[int] = mapped_column(BigInteger, default=0)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Forecast(Base):
    """Latest virality forecast and risk of a mention, refreshed by each detection cycle."""

    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_risk", "risk"),)

    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime]
    reshares_now: Mapped[int] = mapped_column(BigInteger, default=0)
    final: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    seconds_to_threshold: Mapped[float | None] = mapped_column(Float)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Incident(Base):
    """Many people complaining about the same thing: one row per cluster, updated as it grows."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_brand_last", "brand", "last_seen"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentions.id", ondelete="SET NULL")
    )
    centroid: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(12), default="open")
    size: Mapped[int] = mapped_column(Integer, default=0)
    authors: Mapped[int] = mapped_column(Integer, default=0)
    languages: Mapped[dict[str, Any]] = mapped_column(default=dict)
    risk: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    # Found while analysing collected history (a first run, a backfill): shown, never emailed.
    historical: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DetectionState(Base):
    """How far each brand's mentions have been analysed, so a backlog is read as history."""

    __tablename__ = "detection_state"

    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    analysed_until: Mapped[datetime]


class IncidentMention(Base):
    """Which mentions belong to which incident."""

    __tablename__ = "incident_mentions"
    __table_args__ = (Index("ix_incident_mentions_mention", "mention_id"),)

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    mention_id: Mapped[int] = mapped_column(
        ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True
    )


class SentimentCorrection(Base):
    """A person's correction of the model, kept for evaluation and retraining."""

    __tablename__ = "sentiment_corrections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(8))
    is_complaint: Mapped[bool | None] = mapped_column(Boolean)
    model_label: Mapped[str | None] = mapped_column(String(8))
    model_id: Mapped[str | None] = mapped_column(String(128))
    corrected_by: Mapped[str | None] = mapped_column(String(128))
    corrected_at: Mapped[datetime]


class Report(Base):
    """A generated weekly report of a brand: where its files are and whether it went out.

    One row per (brand, week); ``claimed_until`` lets one of several schedulers sharing the
    database send it, and the backoff columns retry an SMTP outage without losing the report.
    """

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("brand", "week", name="uq_reports_brand_week"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    brand: Mapped[str] = mapped_column(String(64))
    week: Mapped[str] = mapped_column(String(10))
    path: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    generated_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    sent_to: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]


class MentionHourly(Base):
    """Mentions counted per brand, hour and what the dashboard splits or filters them by.

    The label and complaint flag are the effective ones (a correction wins over the model), the
    state is the response's ("new" without one). Kept by ``monitor.storage.rollups``.
    """

    __tablename__ = "mention_hourly"
    # Clustered on the key (SQLite): the hours of a period are one contiguous range.
    __table_args__ = ({"sqlite_with_rowid": False},)

    brand: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    label: Mapped[str] = mapped_column(String(8), primary_key=True)
    complaint: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    state: Mapped[str] = mapped_column(String(12), primary_key=True)
    mentions: Mapped[int] = mapped_column(BigInteger)


class RollupCursor(Base):
    """How far a rollup has read each table that changes it (see ``rollups.refresh``)."""

    __tablename__ = "rollup_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigInteger, default=0)
    correction_id: Mapped[int] = mapped_column(BigInteger, default=0)
    scored_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]


# What the rollup's cursor reads: the latest readings and response changes, by time.
Index("ix_sentiments_scored", Sentiment.scored_at)
Index("ix_responses_updated", Response.updated_at)


class LoginFailure(Base):
    """Failed dashboard passwords per client address (and ``*`` for all of them): the throttle
    lives in the database, where no browser message can clear it and every dashboard process
    and restart sees the same count."""

    __tablename__ = "login_failures"

    client: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
