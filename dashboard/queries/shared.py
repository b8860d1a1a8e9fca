"""What every query of the dashboard shares: the tables, the filters, the joined view of a
mention with its effective reading, and the split of a period into rollup hours and raw edges.

A person's sentiment correction wins over the model's reading everywhere it is shown: the
"effective" label and complaint flag are the latest correction's, else the model's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Engine,
    FromClause,
    Integer,
    Select,
    Subquery,
    Table,
    and_,
    cast,
    extract,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)

from monitor.storage import rollups
from monitor.storage.rollups import HOUR, floor_hour
from monitor.storage.tables import (
    Alert,
    CollectorState,
    EngagementSnapshot,
    Forecast,
    Incident,
    IncidentMention,
    Mention,
    MentionHourly,
    Response,
    Sentiment,
    SentimentCorrection,
)

LABELS = ("negative", "neutral", "positive")
UNSCORED = "unscored"
STATES = ("new", "assigned", "answered", "dismissed")
OPEN_STATES = ("new", "assigned")
Grain = Literal["hour", "day", "week"]
Dimension = Literal["source", "language", "brand"]

M: Table = Mention.__table__  # type: ignore[assignment]
S: Table = Sentiment.__table__  # type: ignore[assignment]
R: Table = Response.__table__  # type: ignore[assignment]
E: Table = EngagementSnapshot.__table__  # type: ignore[assignment]
F: Table = Forecast.__table__  # type: ignore[assignment]
I: Table = Incident.__table__  # type: ignore[assignment]  # noqa: E741
IM: Table = IncidentMention.__table__  # type: ignore[assignment]
C: Table = SentimentCorrection.__table__  # type: ignore[assignment]
A: Table = Alert.__table__  # type: ignore[assignment]
CS: Table = CollectorState.__table__  # type: ignore[assignment]
H: Table = MentionHourly.__table__  # type: ignore[assignment]
Span = tuple[datetime | None, datetime | None]


@dataclass(frozen=True, slots=True)
class MentionFilter:
    """What the feed and the counts show; empty tuples mean "any"."""

    brands: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    complaints_only: bool = False
    unanswered_only: bool = False
    start: datetime | None = None
    end: datetime | None = None
    search: str = ""


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """Which complaints the inbox lists; ``sla_minutes`` marks the late ones."""

    brands: tuple[str, ...] = ()
    states: tuple[str, ...] = OPEN_STATES
    assignee: str = ""
    start: datetime | None = None
    end: datetime | None = None
    sla_minutes: int = 60
    breached_only: bool = False


class View:
    """Mentions joined with their reading, latest correction and response state."""

    def __init__(self) -> None:
        latest = select(func.max(C.c.id)).group_by(C.c.mention_id)
        self.corr: Subquery = (
            select(C.c.mention_id, C.c.label, C.c.is_complaint)
            .where(C.c.id.in_(latest))
            .subquery("corr")
        )
        self.label: ColumnElement[str] = func.coalesce(
            self.corr.c.label, S.c.label, literal_column(f"'{UNSCORED}'")
        )
        self.complaint: ColumnElement[bool] = func.coalesce(
            self.corr.c.is_complaint, S.c.is_complaint, false()
        )
        self.state: ColumnElement[str] = func.coalesce(R.c.status, literal_column("'new'"))

    def joined(self, base: FromClause = M, *, responses: bool = True) -> FromClause:
        """Mentions with their readings (and response state, unless the query needs none)."""
        readings = base.outerjoin(S, S.c.mention_id == M.c.id).outerjoin(
            self.corr, self.corr.c.mention_id == M.c.id
        )
        return readings.outerjoin(R, R.c.mention_id == M.c.id) if responses else readings

    def conditions(self, f: MentionFilter, *, with_sentiment: bool = True) -> list[Any]:
        conds: list[Any] = []
        if f.brands:
            conds.append(M.c.brand.in_(f.brands))
        if f.sources:
            conds.append(M.c.source.in_(f.sources))
        if f.languages:
            conds.append(M.c.language.in_(f.languages))
        if with_sentiment and f.sentiments:
            conds.append(self.label.in_(f.sentiments))
        if f.complaints_only:
            conds.append(self.complaint == true())
        if f.unanswered_only:
            conds.append(self.state.in_(OPEN_STATES))
        conds.extend(in_period(f.start, f.end))
        if f.search.strip():
            q = f.search.strip()
            conds.append(
                or_(
                    M.c.text.icontains(q, autoescape=True), M.c.author.icontains(q, autoescape=True)
                )
            )
        return conds


def in_period(start: datetime | None, end: datetime | None) -> list[Any]:
    conds = []
    if start is not None:
        conds.append(M.c.created_at >= start)
    if end is not None:
        conds.append(M.c.created_at < end)
    return conds


def _ceil_hour(moment: datetime) -> datetime:
    hour = floor_hour(moment)
    return hour if hour == moment else hour + HOUR


def _cut(span: Span, hour: datetime) -> list[Span]:
    """``span`` (of whole hours) without ``hour``."""
    start, end = span
    if (start is not None and hour < start) or (end is not None and hour >= end):
        return [span]
    pieces: list[Span] = [(start, hour), (hour + HOUR, end)]
    return [(a, b) for a, b in pieces if a is None or b is None or a < b]


def split_hours(
    engine: Engine,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    cuts: Sequence[datetime] = (),
) -> tuple[list[Span], list[Span]]:
    """The whole hours of [start, end) that the rollup answers for, and the rest, counted from
    the mentions: the partial hours at both ends, the current hour, and the hours holding a
    ``cut`` (a time a count changes at, such as an SLA deadline). All raw before the rollup is
    built."""
    with engine.connect() as conn:
        if not rollups.is_built(conn):
            return [], [(start, end)]
    first = None if start is None else _ceil_hour(start)
    last = floor_hour(min(end, now) if end is not None else now)
    if first is not None and first >= last:
        return [], [(start, end)]
    hours: list[Span] = [(first, last)]
    raw: list[Span] = [(last, end)] if end is None or last < end else []
    if start is not None and first is not None and start < first:
        raw.append((start, first))
    for cut in cuts:
        hour = floor_hour(cut)
        kept = [piece for span in hours for piece in _cut(span, hour)]
        if hour != cut and kept != hours:
            raw.append((hour, hour + HOUR))
            hours = kept
    return hours, raw


def in_spans(column: Any, spans: Sequence[Span]) -> Any:
    """``column`` inside any of the half-open spans (None: unbounded on that side)."""
    parts = []
    for start, end in spans:
        conds = [column >= start] if start is not None else []
        conds += [column < end] if end is not None else []
        parts.append(and_(*conds) if conds else true())
    return or_(*parts) if parts else false()


def latest_engagement(column: Any) -> Any:
    """The newest non-null value of an engagement count for the outer mention row."""
    return (
        select(column)
        .where(E.c.mention_id == M.c.id, column.is_not(None))
        .order_by(E.c.observed_at.desc())
        .limit(1)
        .correlate(M)
        .scalar_subquery()
    )


def mention_columns(view: View) -> list[Any]:
    return [
        M.c.id,
        M.c.created_at,
        M.c.brand,
        M.c.source,
        M.c.author,
        M.c.author_followers,
        M.c.text,
        M.c.language,
        M.c.url,
        M.c.rating,
        view.label.label("label"),
        view.complaint.label("complaint"),
        S.c.intent,
        view.state.label("state"),
        R.c.assignee,
        R.c.answered_at,
        R.c.reply_url,
    ]


def to_frame(engine: Engine, query: Select[Any]) -> pd.DataFrame:
    """Rows as a DataFrame; plain tuples, as pandas probes each Row for named-tuple fields."""
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))


def time_bucket(engine: Engine, column: Any, grain: Grain) -> Any:
    """The start of the hour, day or (Monday-based) week of a UTC time, in SQL."""
    if engine.dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{grain}'"), column)
    if grain == "hour":
        return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), column)
    if grain == "day":
        return func.date(column)
    weekday = (cast(func.strftime(literal_column("'%w'"), column), Integer) + 6) % 7
    return func.date(column, func.printf(literal_column("'-%d days'"), weekday))


def minutes_between(engine: Engine, start: Any, end: Any) -> Any:
    """Minutes from ``start`` to ``end``, in SQL. On SQLite, Julian days carry float noise
    (an answer after 60 min reads 60.0000001, past a 60 min SLA): rounded to the millisecond."""
    if engine.dialect.name == "postgresql":
        return extract("epoch", end - start) / 60.0
    return func.round((func.julianday(end) - func.julianday(start)) * 86_400_000.0) / 60_000.0


def as_utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Bucket columns come back as text (SQLite) or naive timestamps (PostgreSQL): make UTC."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def distinct_values(conn: Any, column: Any) -> Iterator[Any]:
    """Each value of an indexed column once: a loose index scan, one seek per value, where
    ``SELECT DISTINCT`` would read a million index entries for a handful of values."""
    value = conn.execute(select(func.min(column))).scalar()
    while value is not None:
        yield value
        value = conn.execute(select(func.min(column)).where(column > value)).scalar()


def aware(value: datetime) -> datetime:
    """Aggregates lose the column type: restore aware UTC."""
    return pd.Timestamp(value).tz_localize("UTC") if value.tzinfo is None else value
