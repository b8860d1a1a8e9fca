"""The weekly report's numbers, computed in SQL on SQLite and PostgreSQL alike.

Weeks and days are bucketed with ``CASE`` expressions over UTC bounds computed in Python from the
report's time zone: the same query runs on both backends and a DST week still has seven days.
Figures are taken *as of* the end of the week (or now, for the week in progress), so a report
regenerated later for the same week shows the same numbers.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from math import ceil
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select, text
from sqlalchemy.sql.elements import ColumnElement, Label

from monitor.config import Brand
from monitor.reports.period import Week
from monitor.reports.topics import Document, Topic, find_topics
from monitor.storage.tables import (
    EngagementSnapshot,
    Incident,
    IncidentMention,
    Mention,
    Response,
    Sentiment,
)

HISTORY_WEEKS = 12
TOP_MENTIONS = 5
MAX_INCIDENTS = 8


@dataclass(frozen=True, slots=True)
class Change:
    """One item's count this week and the week before."""

    name: str
    current: int
    previous: int


@dataclass(frozen=True, slots=True)
class WeekPoint:
    """One week of the 12-week history."""

    week: str
    mentions: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    complaints: int = 0
    competitors: int = 0

    @property
    def net_sentiment(self) -> float | None:
        """(pos − neg) / (pos + neg); None when nothing was positive or negative."""
        polar = self.positive + self.negative
        return (self.positive - self.negative) / polar if polar else None

    @property
    def share_of_voice(self) -> float | None:
        """The brand's share of the mentions of itself and its competitors."""
        total = self.mentions + self.competitors
        return self.mentions / total if total else None


@dataclass(frozen=True, slots=True)
class ResponseStats:
    """How the brand answered the complaints posted during a week, as of a moment."""

    complaints: int = 0
    answered: int = 0
    dismissed: int = 0
    within_sla: int = 0
    median_minutes: float | None = None
    p90_minutes: float | None = None

    @property
    def unanswered(self) -> int:
        return self.complaints - self.answered - self.dismissed

    @property
    def sla_share(self) -> float | None:
        """Answered within the SLA, out of the complaints that needed an answer."""
        needing = self.complaints - self.dismissed
        return self.within_sla / needing if needing else None

    @property
    def answered_in_time(self) -> float | None:
        """Answered within the SLA, out of the complaints answered (the dashboard's reading)."""
        return self.within_sla / self.answered if self.answered else None


@dataclass(frozen=True, slots=True)
class TopMention:
    id: int
    source: str
    author: str | None
    text: str
    url: str | None
    language: str | None
    created_at: datetime
    likes: int
    reshares: int
    replies: int

    @property
    def engagement(self) -> int:
        return self.likes + self.reshares + self.replies


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    title: str
    status: str
    size: int
    first_seen: datetime
    last_seen: datetime
    peak_count: int
    peak_at: datetime | None
    answer_minutes: float | None


@dataclass
class WeeklyFigures:
    """Everything the report shows; renderers only format it."""

    brand: str
    week: Week
    as_of: datetime
    sla_minutes: int
    history: list[WeekPoint]
    days: list[tuple[date, int, int]]
    sources: list[Change]
    languages: list[Change]
    share_of_voice: list[Change]
    responses: ResponseStats
    responses_previous: ResponseStats
    topics: list[Topic]
    other_complaints: int
    incidents: list[IncidentRow]
    top_positive: list[TopMention]
    top_negative: list[TopMention]
    competitors: list[str] = field(default_factory=list)

    @property
    def current(self) -> WeekPoint:
        return self.history[-1]

    @property
    def previous(self) -> WeekPoint:
        return self.history[-2]

    def summary(self) -> dict[str, Any]:
        """The headline numbers, kept with the report's index row for the dashboard's list."""
        return {
            "mentions": self.current.mentions,
            "mentions_previous": self.previous.mentions,
            "net_sentiment": self.current.net_sentiment,
            "share_of_voice": self.current.share_of_voice,
            "complaints": self.responses.complaints,
            "unanswered": self.responses.unanswered,
        }


def _bucket(column: ColumnElement[datetime], edges: Sequence[datetime]) -> Label[Any]:
    """Index i of the interval [edges[i], edges[i+1]) that holds ``column``."""
    return case(*[(column < edge, i) for i, edge in enumerate(edges[1:])]).label("bucket")


def _in_range(column: ColumnElement[datetime], edges: Sequence[datetime]) -> ColumnElement[bool]:
    return (column >= edges[0]) & (column < edges[-1])


# PostgreSQL cannot match a repeated CASE with bind parameters to its GROUP BY copy; the output
# column's name is accepted by both backends.
_BY_BUCKET = text("bucket")


def _history(conn: Connection, brand: Brand, weeks: list[Week]) -> list[WeekPoint]:
    edges = [w.start for w in weeks] + [weeks[-1].end]
    bucket = _bucket(Mention.created_at, edges)
    own = (
        select(bucket, Sentiment.label, Sentiment.is_complaint, func.count())
        .select_from(Mention)
        .outerjoin(Sentiment, Sentiment.mention_id == Mention.id)
        .where(Mention.brand == brand.name, _in_range(Mention.created_at, edges))
        .group_by(_BY_BUCKET, Sentiment.label, Sentiment.is_complaint)
    )
    counts: list[Counter[str]] = [Counter() for _ in weeks]
    for index, label, complaint, n in conn.execute(own):
        counts[index]["mentions"] += n
        if label in ("positive", "neutral", "negative"):
            counts[index][label] += n
        if complaint:
            counts[index]["complaints"] += n
    if brand.competitors:
        rivals = (
            select(bucket, func.count())
            .where(Mention.brand.in_(brand.competitors), _in_range(Mention.created_at, edges))
            .group_by(_BY_BUCKET)
        )
        for index, n in conn.execute(rivals):
            counts[index]["competitors"] += n
    return [WeekPoint(w.label, **counts[i]) for i, w in enumerate(weeks)]


def _changes(
    conn: Connection, column: ColumnElement[Any], where: ColumnElement[bool], week: Week
) -> list[Change]:
    """Counts per value of ``column`` in ``week`` and the week before, largest first."""
    edges = [week.shift(-1).start, week.start, week.end]
    query = (
        select(column, _bucket(Mention.created_at, edges), func.count())
        .where(where, _in_range(Mention.created_at, edges))
        .group_by(column, _BY_BUCKET)
    )
    pairs: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for value, index, n in conn.execute(query):
        pairs[value if value is not None else "unknown"][1 - index] += n
    ordered = sorted(pairs.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    return [Change(name, cur, prev) for name, (cur, prev) in ordered]


def _share_of_voice(conn: Connection, brand: Brand, week: Week) -> list[Change]:
    names = [brand.name, *brand.competitors]
    found = {c.name: c for c in _changes(conn, Mention.brand, Mention.brand.in_(names), week)}
    return [found.get(name, Change(name, 0, 0)) for name in names]


def _days(conn: Connection, brand: Brand, week: Week) -> list[tuple[date, int, int]]:
    edges = week.shift(-1).day_edges()[:-1] + week.day_edges()
    query = (
        select(_bucket(Mention.created_at, edges), func.count())
        .where(Mention.brand == brand.name, _in_range(Mention.created_at, edges))
        .group_by(_BY_BUCKET)
    )
    counts = dict(conn.execute(query).all())
    return [
        (day.astimezone(week.zone).date(), counts.get(7 + d, 0), counts.get(d, 0))
        for d, day in enumerate(edges[7:14])
    ]


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The q-quantile by the nearest-rank method: a value that actually occurred."""
    ordered = sorted(values)
    return ordered[max(ceil(q * len(ordered)) - 1, 0)]


def delay_stats(minutes: Sequence[float], sla_minutes: int) -> ResponseStats:
    """Median, 90th percentile (nearest rank) and count within the SLA of first-response delays:
    the one definition the weekly report, the Inbox and Trends all show."""
    delays = list(minutes)
    return ResponseStats(
        complaints=len(delays),
        answered=len(delays),
        within_sla=sum(d <= sla_minutes for d in delays),
        median_minutes=statistics.median(delays) if delays else None,
        p90_minutes=nearest_rank(delays, 0.9) if delays else None,
    )


def response_stats(
    rows: Sequence[tuple[datetime, str | None, datetime | None, datetime | None]],
    as_of: datetime,
    sla_minutes: int,
) -> ResponseStats:
    """Stats of complaints given as (posted, response status, answered at, status updated at)."""
    delays = []
    dismissed = 0
    for posted, status, answered_at, updated_at in rows:
        if answered_at is not None and answered_at <= as_of:
            delays.append(max((answered_at - posted).total_seconds() / 60, 0.0))
        elif status == "dismissed" and updated_at is not None and updated_at <= as_of:
            dismissed += 1
    stats = delay_stats(delays, sla_minutes)
    return replace(stats, complaints=len(rows), dismissed=dismissed)


def _complaint_rows(conn: Connection, brand: Brand, start: datetime, end: datetime) -> list[Any]:
    query = (
        select(Mention.created_at, Response.status, Response.answered_at, Response.updated_at)
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .outerjoin(Response, Response.mention_id == Mention.id)
        .where(
            Mention.brand == brand.name,
            Sentiment.is_complaint.is_(True),
            Mention.created_at >= start,
            Mention.created_at < end,
        )
    )
    return [tuple(row) for row in conn.execute(query)]


def _top_mentions(
    conn: Connection, brand: Brand, week: Week, as_of: datetime, label: str
) -> list[TopMention]:
    """The week's most engaged mentions of one sentiment, by engagement seen up to ``as_of``."""
    in_week = (
        (Mention.brand == brand.name)
        & (Mention.created_at >= week.start)
        & (Mention.created_at < week.end)
    )
    engagement = (
        select(
            EngagementSnapshot.mention_id,
            func.max(func.coalesce(EngagementSnapshot.likes, 0)).label("likes"),
            func.max(func.coalesce(EngagementSnapshot.reshares, 0)).label("reshares"),
            func.max(func.coalesce(EngagementSnapshot.replies, 0)).label("replies"),
        )
        .join(Mention, Mention.id == EngagementSnapshot.mention_id)
        .where(in_week, EngagementSnapshot.observed_at <= as_of)
        .group_by(EngagementSnapshot.mention_id)
        .subquery()
    )
    likes = func.coalesce(engagement.c.likes, 0)
    reshares = func.coalesce(engagement.c.reshares, 0)
    replies = func.coalesce(engagement.c.replies, 0)
    query = (
        select(
            Mention.id,
            Mention.source,
            Mention.author,
            Mention.text,
            Mention.url,
            Mention.language,
            Mention.created_at,
            likes,
            reshares,
            replies,
        )
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .outerjoin(engagement, engagement.c.mention_id == Mention.id)
        .where(in_week, Sentiment.label == label)
        .order_by((likes + reshares + replies).desc(), Mention.id)
        .limit(TOP_MENTIONS)
    )
    return [TopMention(*row) for row in conn.execute(query)]


def _peak(times: list[datetime], week: Week) -> tuple[int, datetime | None]:
    """The busiest local clock hour of an incident: how many mentions, and when it started."""
    hours = Counter(
        t.astimezone(week.zone).replace(minute=0, second=0, microsecond=0) for t in times
    )
    if not hours:
        return 0, None
    hour, count = min(hours.items(), key=lambda kv: (-kv[1], kv[0]))
    return count, hour.astimezone(UTC)


def _incidents(conn: Connection, brand: Brand, week: Week, as_of: datetime) -> list[IncidentRow]:
    """Incidents active during the week, with their peak hour and time to first answer."""
    incidents = conn.execute(
        select(Incident)
        .where(
            Incident.brand == brand.name,
            Incident.first_seen < week.end,
            Incident.last_seen >= week.start,
        )
        .order_by(Incident.size.desc(), Incident.id)
        .limit(MAX_INCIDENTS)
    ).all()
    ids = [row.id for row in incidents]
    times: dict[int, list[datetime]] = defaultdict(list)
    members = select(IncidentMention.incident_id, Mention.created_at).join(
        Mention, Mention.id == IncidentMention.mention_id
    )
    for incident_id, created in conn.execute(members.where(IncidentMention.incident_id.in_(ids))):
        times[incident_id].append(created)
    first_answers = dict(
        conn.execute(
            select(IncidentMention.incident_id, func.min(Response.answered_at))
            .join(Response, Response.mention_id == IncidentMention.mention_id)
            .where(IncidentMention.incident_id.in_(ids), Response.answered_at <= as_of)
            .group_by(IncidentMention.incident_id)
        ).all()
    )
    rows = []
    for inc in incidents:
        answers = [t for t in (inc.answered_at, first_answers.get(inc.id)) if t and t <= as_of]
        minutes = (min(answers) - inc.first_seen).total_seconds() / 60 if answers else None
        peak_count, peak_at = _peak(times[inc.id], week)
        rows.append(
            IncidentRow(
                id=inc.id,
                title=inc.title,
                status=inc.status,
                size=inc.size,
                first_seen=inc.first_seen,
                last_seen=inc.last_seen,
                peak_count=peak_count,
                peak_at=peak_at,
                answer_minutes=None if minutes is None else max(minutes, 0.0),
            )
        )
    return rows


def _complaint_documents(conn: Connection, brand: Brand, week: Week) -> list[list[Document]]:
    """The complaints of the previous and of this week, for topic clustering."""
    edges = [week.shift(-1).start, week.start, week.end]
    query = (
        select(
            Mention.id,
            Mention.text,
            Mention.language,
            Mention.url,
            _bucket(Mention.created_at, edges),
        )
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .where(
            Mention.brand == brand.name,
            Sentiment.is_complaint.is_(True),
            _in_range(Mention.created_at, edges),
        )
        .order_by(Mention.id)
    )
    docs: list[list[Document]] = [[], []]
    for mid, body, language, url, index in conn.execute(query):
        docs[index].append(Document(mid, body, language, url))
    return docs


def brand_terms(brand: Brand) -> set[str]:
    """Words that name the brand or its competitors: present everywhere, so never a topic."""
    words = [brand.name, *brand.keywords, *brand.handles, *brand.competitors]
    return {part.casefold().lstrip("@") for w in words for part in w.split()}


def compute(
    engine: Engine, brand: Brand, week: Week, now: datetime, sla_minutes: int
) -> WeeklyFigures:
    """All figures of ``brand``'s report for ``week``, as of the week's end (or ``now``)."""
    as_of = min(now, week.end)
    weeks = [week.shift(-n) for n in range(HISTORY_WEEKS - 1, -1, -1)]
    previous = week.shift(-1)
    own = Mention.brand == brand.name
    with engine.connect() as conn:
        history = _history(conn, brand, weeks)
        complaints = _complaint_rows(conn, brand, previous.start, week.end)
        earlier, current = _complaint_documents(conn, brand, week)
        figures = WeeklyFigures(
            brand=brand.name,
            week=week,
            as_of=as_of,
            sla_minutes=sla_minutes,
            history=history,
            days=_days(conn, brand, week),
            sources=_changes(conn, Mention.source, own, week),
            languages=_changes(conn, Mention.language, own, week),
            share_of_voice=_share_of_voice(conn, brand, week),
            responses=response_stats(
                [r for r in complaints if r[0] >= week.start], as_of, sla_minutes
            ),
            responses_previous=response_stats(
                [r for r in complaints if r[0] < week.start], min(now, previous.end), sla_minutes
            ),
            topics=[],
            other_complaints=0,
            incidents=_incidents(conn, brand, week, as_of),
            top_positive=_top_mentions(conn, brand, week, as_of, "positive"),
            top_negative=_top_mentions(conn, brand, week, as_of, "negative"),
            competitors=list(brand.competitors),
        )
    figures.topics, figures.other_complaints = find_topics(current, earlier, brand_terms(brand))
    return figures
