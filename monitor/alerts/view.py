"""What an alert shows, gathered once and worded once for every channel (email, chat).

Detection puts what it saw into ``details``; the database fills in the rest (the mention, its
sentiment, its engagement series, the incident). Values here are raw: each renderer escapes them
for its own format, since mention text and author names are hostile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from monitor.alerts.escalation import FOOTPRINT
from monitor.alerts.examples import Example, examples_for, stars
from monitor.alerts.replies import Reply, statement_languages, suggest
from monitor.config import Brand, BrandAlerts, VigieConfig
from monitor.display import duration
from monitor.plugins import AlertKind, registry
from monitor.storage.tables import (
    Alert,
    EngagementSnapshot,
    Incident,
    IncidentMention,
    Mention,
    Sentiment,
)

MENTION_FIELDS = ("text", "author", "author_followers", "url", "source", "language", "rating")
MAX_SERIES = 500
MAX_TIMES = 20_000
VOLUME_HISTORY = timedelta(hours=6)


@dataclass
class AlertView:
    """One alert revision, ready to render."""

    id: int
    kind: str
    brand: str
    severity: str
    title: str
    revision: int
    dedup_key: str
    created_at: datetime
    mention_id: int | None
    details: dict[str, Any]
    link: str
    replies: list[Reply] = field(default_factory=list)
    sentiment: tuple[str, float, bool, float] | None = None
    series: list[tuple[datetime, int | None, int | None]] = field(default_factory=list)
    counts: list[datetime] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    zone: str = "UTC"  # the brand's clock (VigieConfig.zone), for times in charts

    @property
    def shape(self) -> AlertKind:
        """How this kind of alert reads, as its detector plugin declares it."""
        return registry().alert_kind(self.kind)

    @property
    def label(self) -> str:
        base = self.shape.label
        return f"{base} (update {self.revision})" if self.revision > 1 else base

    def get(self, key: str) -> Any:
        return self.details.get(key)


def fmt_int(value: Any) -> str:
    """4800 → "4,800"; anything else as text."""
    try:
        return f"{round(float(value)):,}"
    except (TypeError, ValueError):
        return str(value)


def _span(seconds: float) -> str:
    return duration(seconds / 60)


def _when(seconds: float) -> str:
    return "within a minute" if seconds < 60 else f"in ~{_span(seconds)}"


def crossing_phrase(earliest: float | None, latest: float | None) -> str | None:
    """When the threshold is passed, as the forecast's own band says it: from its high scenario
    (earliest) to its low one (latest). Never a single point: the median's time once said
    "~2 min" for a crossing 55 min later. None when even the high scenario stays below."""
    if earliest is None:
        return None
    if earliest <= 0:
        return "now"
    if latest is None:
        return f"possibly {_when(earliest)} or later (the low forecast stays below it)"
    if _when(earliest) == _when(latest):
        return _when(earliest)
    if earliest < 60:
        return f"within ~{_span(latest)}"
    return f"between ~{_span(earliest)} and ~{_span(latest)} from now"


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def forecast_sentence(details: dict[str, Any]) -> str | None:
    """E.g. "≈ 4,800 reshares within 6 h (likely 3,900–5,600), crossing your threshold of
    1,000 between ~20 min and ~1 h 40 from now"."""
    final = _number(details.get("forecast_final"))
    if final is None:
        return None
    text = f"≈ {fmt_int(final)} reshares"
    horizon = _number(details.get("forecast_horizon_hours"))
    if horizon:
        text += f" within {horizon:g} h"
    low, high = _number(details.get("forecast_low")), _number(details.get("forecast_high"))
    if low is not None and high is not None:
        text += f" (likely {fmt_int(low)}–{fmt_int(high)})"
    threshold = _number(details.get("threshold"))
    when = crossing_phrase(
        _number(details.get("threshold_earliest_s")), _number(details.get("threshold_latest_s"))
    )
    if when is not None:
        what = f"your threshold of {fmt_int(threshold)}" if threshold else "your threshold"
        text += f", crossing {what} {when}"
    return text


def engagement_sentence(details: dict[str, Any]) -> str | None:
    """E.g. "312 reshares so far, +80/h"."""
    reshares = details.get("reshares")
    if reshares is None:
        return None
    text = f"{fmt_int(reshares)} reshares so far"
    rate = _number(details.get("reshares_per_hour"))
    if rate is not None:
        text += f", +{fmt_int(rate)}/h"
    return text


def sentiment_sentence(sentiment: tuple[str, float, bool, float] | None) -> str | None:
    if sentiment is None:
        return None
    label, score, complaint, complaint_score = sentiment
    text = f"{label} ({score:.0%})"
    if complaint:
        text += f" · complaint ({complaint_score:.0%})"
    return text


def facts(view: AlertView) -> list[tuple[str, str]]:
    """The key figures as (label, value) pairs, in the order a support lead reads them."""
    d = view.details
    rows: list[tuple[str, str | None]] = [
        ("Author", _author_line(d)),
        ("Source", d.get("source") and str(d["source"])),
        ("Rating", stars(d.get("rating"))),
        ("Languages", _languages_line(d)),
        ("Language", None if _languages_line(d) else d.get("language") and str(d["language"])),
        ("Sentiment", sentiment_sentence(view.sentiment)),
        ("Engagement", engagement_sentence(d)),
        ("Forecast", forecast_sentence(d)),
        ("Risk", _risk_line(d)),
        ("Similar complaints", _similar_line(d)),
        ("Mentions", _volume_line(d)),
        ("Top terms", _terms_line(d)),
    ]
    return [(label, value) for label, value in rows if value]


def _languages_line(d: dict[str, Any]) -> str | None:
    """"nl 9 · fr 3 · en 2": an incident's languages, most spoken first."""
    counts = d.get("languages")
    if not isinstance(counts, dict) or not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kv: -(kv[1] if isinstance(kv[1], int) else 0))
    return " · ".join(f"{lang} {fmt_int(n)}" for lang, n in ranked)


def _author_line(d: dict[str, Any]) -> str | None:
    if not d.get("author"):
        return None
    followers = d.get("author_followers")
    reach = f" ({fmt_int(followers)} followers)" if followers is not None else ""
    return f"{d['author']}{reach}"


def _risk_line(d: dict[str, Any]) -> str | None:
    risk = _number(d.get("risk"))
    if risk is None:
        return None
    reasons = d.get("risk_reasons") or []
    text = f"{risk:.0%}" if risk <= 1 else f"{risk:g}"
    if isinstance(reasons, list) and reasons:
        text += ": " + "; ".join(str(r) for r in reasons[:5])
    return text


def _similar_line(d: dict[str, Any]) -> str | None:
    count = d.get("similar_count")
    return None if count is None else f"{fmt_int(count)} similar complaints"


def _volume_line(d: dict[str, Any]) -> str | None:
    count = d.get("count")
    if count is None:
        return None
    window = d.get("window_minutes")
    text = f"{fmt_int(count)}" + (f" in {window} min" if window else "")
    baseline = _number(d.get("baseline"))
    return text + (f" (usually {baseline:.1f})" if baseline is not None else "")


def _terms_line(d: dict[str, Any]) -> str | None:
    terms = d.get("top_terms")
    if isinstance(terms, dict):
        terms = list(terms)
    if not isinstance(terms, list) or not terms:
        return None
    # Plain terms, or (term, weight) pairs.
    return ", ".join(str(t[0] if isinstance(t, list | tuple) and t else t) for t in terms[:8])


def dashboard_link(base: str, alert: Alert, details: dict[str, Any]) -> str:
    """Where the lead opens the alert in the dashboard: the mention, incident or alert page."""
    root = base.rstrip("/")
    if alert.mention_id:
        return f"{root}/?mention={alert.mention_id}"
    if details.get("incident_id") is not None:
        return f"{root}/?incident={details['incident_id']}"
    return f"{root}/?alert={alert.id}"


def _brand(config: VigieConfig, name: str) -> Brand | None:
    return next((b for b in config.brands if b.name.casefold() == name.casefold()), None)


def brand_rules(config: VigieConfig, name: str) -> BrandAlerts:
    """The brand's alert rules. An alert of no brand (a source shared by all brands) goes to
    everyone's recipients; a brand removed from the config since gets the defaults."""
    brand = _brand(config, name)
    if brand is not None:
        return brand.alerts
    if name:
        return BrandAlerts()
    every = [b.alerts for b in config.brands]
    return BrandAlerts(
        recipients=list(dict.fromkeys(r for a in every for r in a.recipients)),
        webhooks=list(dict.fromkeys(w for a in every for w in a.webhooks)),
        routes=[route for a in every for route in a.routes],
    )


def _mention_details(conn: Connection, mention_id: int) -> dict[str, Any]:
    row = conn.execute(
        select(*(getattr(Mention, f) for f in MENTION_FIELDS)).where(Mention.id == mention_id)
    ).first()
    return {} if row is None else {k: v for k, v in row._mapping.items() if v is not None}


def _sentiment(conn: Connection, mention_id: int) -> tuple[str, float, bool, float] | None:
    row = conn.execute(
        select(
            Sentiment.label, Sentiment.score, Sentiment.is_complaint, Sentiment.complaint_score
        ).where(Sentiment.mention_id == mention_id)
    ).first()
    return None if row is None else (row[0], row[1], bool(row[2]), row[3])


def _series(conn: Connection, mention_id: int) -> list[tuple[datetime, int | None, int | None]]:
    snap = EngagementSnapshot
    rows = conn.execute(
        select(snap.observed_at, snap.reshares, snap.likes)
        .where(snap.mention_id == mention_id)
        .order_by(snap.observed_at.desc())
        .limit(MAX_SERIES)
    ).all()
    return [(t, r, lk) for t, r, lk in reversed(rows)]


def _incident_times(conn: Connection, incident_id: Any) -> list[datetime]:
    query = (
        select(Mention.created_at)
        .join(IncidentMention, IncidentMention.mention_id == Mention.id)
        .where(IncidentMention.incident_id == incident_id)
        .order_by(Mention.created_at)
        .limit(MAX_TIMES)
    )
    return list(conn.execute(query).scalars())


def _brand_times(conn: Connection, brand: str, until: datetime) -> list[datetime]:
    """Recent mention times of the brand, to draw the spike against its usual volume."""
    query = (
        select(Mention.created_at)
        .where(
            Mention.brand == brand,
            Mention.created_at > until - VOLUME_HISTORY,
            Mention.created_at <= until,
        )
        .order_by(Mention.created_at.desc())
        .limit(MAX_TIMES)
    )
    return sorted(conn.execute(query).scalars())


def _incident_details(conn: Connection, incident_id: Any) -> dict[str, Any]:
    row = conn.execute(
        select(Incident.size, Incident.terms, Incident.languages).where(Incident.id == incident_id)
    ).first()
    if row is None:
        return {}
    found: dict[str, Any] = {"similar_count": row.size, "languages": row.languages or {}}
    if row.terms:
        found["top_terms"] = row.terms
    return found


def load_view(conn: Connection, alert: Alert, config: VigieConfig) -> AlertView:
    """The alert's current revision with everything the renderers need."""
    details = dict(alert.details or {})
    view = AlertView(
        id=alert.id,
        kind=alert.kind,
        brand=alert.brand,
        severity=alert.severity,
        title=alert.title,
        revision=alert.revision,
        dedup_key=alert.dedup_key,
        created_at=alert.created_at,
        mention_id=alert.mention_id,
        details=details,
        link=dashboard_link(config.dashboard_url, alert, details),
        zone=config.zone(alert.brand).key,
    )
    if alert.mention_id:
        details.update(
            {
                k: v
                for k, v in _mention_details(conn, alert.mention_id).items()
                if details.get(k) is None
            }
        )
        view.sentiment = _sentiment(conn, alert.mention_id)
        view.series = _series(conn, alert.mention_id)
    incident_id = details.get("incident_id")
    if incident_id is not None:
        extra = _incident_details(conn, incident_id)
        if not extra.get("languages"):  # counted when the alert was raised
            extra["languages"] = (details.get(FOOTPRINT) or {}).get("languages") or {}
        details.update({k: v for k, v in extra.items() if not details.get(k)})
        view.counts = _incident_times(conn, incident_id)
    elif view.shape.chart == "volume":
        view.counts = _brand_times(conn, alert.brand, alert.created_at)
    view.examples = examples_for(conn, alert.brand, details)
    view.replies = _replies(view, config)
    return view


def _replies(view: AlertView, config: VigieConfig) -> list[Reply]:
    """A reply for a complaint in its language; for an incident a statement in every language
    that holds a fifth of it (majority first); nothing for volume or health."""
    if view.shape.reply is None:
        return []
    statement = view.shape.reply == "statement"
    languages: list[str | None] = [view.get("language")]
    counts = view.get("languages")
    if statement and isinstance(counts, dict) and statement_languages(counts):
        languages = list(statement_languages(counts))
    elif statement and not languages[0] and view.examples:
        languages = [view.examples[0].language]
    brand = _brand(config, view.brand)
    found: dict[str, Reply] = {}
    for language in languages:
        reply = suggest(
            brand_rules(config, view.brand),
            view.brand,
            language,
            statement=statement,
            author=None if statement else view.get("author"),
            fallbacks=brand.languages if brand else [],
        )
        found.setdefault(reply.language, reply)
    return list(found.values())
