"""Every SQL statement of the dashboard: reads for the pages, writes for people's actions.

Aggregations run in the database, on indexed time ranges, so a page over a million mentions
ships only the rows it shows. Counts over periods (Trends' volumes, the Inbox's states) add up the
hourly rollup (``monitor.storage.rollups``) for the whole hours of the period and count the
mentions of the partial hours at its edges, so they stay exact. Functions take an Engine and
plain values (no Streamlit), so they are tested directly and cached by the caller.

A person's sentiment correction wins over the model's reading everywhere it is shown: the
"effective" label and complaint flag are the latest correction's, else the model's.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    FromClause,
    Integer,
    MetaData,
    Select,
    Subquery,
    Table,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from monitor.alerts.outbox import raise_alert
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


# --- shared expressions -------------------------------------------------------------------------


class _View:
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
        conds.extend(_period(f.start, f.end))
        if f.search.strip():
            q = f.search.strip()
            conds.append(
                or_(
                    M.c.text.icontains(q, autoescape=True), M.c.author.icontains(q, autoescape=True)
                )
            )
        return conds


def _period(start: datetime | None, end: datetime | None) -> list[Any]:
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


def _split(
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


def _within(column: Any, spans: Sequence[Span]) -> Any:
    """``column`` inside any of the half-open spans (None: unbounded on that side)."""
    parts = []
    for start, end in spans:
        conds = [column >= start] if start is not None else []
        conds += [column < end] if end is not None else []
        parts.append(and_(*conds) if conds else true())
    return or_(*parts) if parts else false()


def _latest_engagement(column: Any) -> Any:
    """The newest non-null value of an engagement count for the outer mention row."""
    return (
        select(column)
        .where(E.c.mention_id == M.c.id, column.is_not(None))
        .order_by(E.c.observed_at.desc())
        .limit(1)
        .correlate(M)
        .scalar_subquery()
    )


def _mention_columns(view: _View) -> list[Any]:
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
        view.label.label("label"),
        view.complaint.label("complaint"),
        view.state.label("state"),
        R.c.assignee,
        R.c.answered_at,
        R.c.reply_url,
    ]


def _frame(engine: Engine, query: Select[Any]) -> pd.DataFrame:
    """Rows as a DataFrame; plain tuples, as pandas probes each Row for named-tuple fields."""
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))


def _bucket(engine: Engine, column: Any, grain: Grain) -> Any:
    """The start of the hour, day or (Monday-based) week of a UTC time, in SQL."""
    if engine.dialect.name == "postgresql":
        return func.date_trunc(literal_column(f"'{grain}'"), column)
    if grain == "hour":
        return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), column)
    if grain == "day":
        return func.date(column)
    weekday = (cast(func.strftime(literal_column("'%w'"), column), Integer) + 6) % 7
    return func.date(column, func.printf(literal_column("'-%d days'"), weekday))


def _minutes_between(engine: Engine, start: Any, end: Any) -> Any:
    if engine.dialect.name == "postgresql":
        return extract("epoch", end - start) / 60.0
    return (func.julianday(end) - func.julianday(start)) * 1440.0


def _times(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Bucket columns come back as text (SQLite) or naive timestamps (PostgreSQL): make UTC."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


# --- live feed ---------------------------------------------------------------------------------


def feed(engine: Engine, f: MentionFilter, limit: int = 200) -> pd.DataFrame:
    """The newest mentions matching ``f``, newest first, with their latest engagement."""
    view = _View()
    query = (
        select(
            *_mention_columns(view),
            _latest_engagement(E.c.reshares).label("reshares"),
            _latest_engagement(E.c.likes).label("likes"),
        )
        .select_from(view.joined())
        .where(*view.conditions(f))
        .order_by(M.c.created_at.desc(), M.c.id.desc())
        .limit(limit)
    )
    return _frame(engine, query)


def sentiment_counts(engine: Engine, f: MentionFilter) -> dict[str, int]:
    """How many mentions match ``f`` per label (the sentiment filter itself is not applied)."""
    view = _View()
    query = (
        select(view.label.label("sentiment"), func.count())
        .select_from(view.joined())
        .where(*view.conditions(f, with_sentiment=False))
        .group_by(literal_column("sentiment"))
    )
    with engine.connect() as conn:
        found = {row[0]: int(row[1]) for row in conn.execute(query)}
    return {key: found.get(key, 0) for key in (*LABELS, UNSCORED)}


def _distinct(conn: Any, column: Any) -> Iterator[Any]:
    """Each value of an indexed column once: a loose index scan, one seek per value, where
    ``SELECT DISTINCT`` would read a million index entries for a handful of values."""
    value = conn.execute(select(func.min(column))).scalar()
    while value is not None:
        yield value
        value = conn.execute(select(func.min(column)).where(column > value)).scalar()


def facet_values(engine: Engine, brands: Sequence[str], since: datetime) -> dict[str, list[str]]:
    """Sources and languages of the brands' mentions since ``since`` (the feed's filters)."""
    out = {}
    with engine.connect() as conn:
        for name in ("source", "language"):
            column = M.c[name]
            seen = [
                value
                for value in _distinct(conn, column)
                if conn.execute(
                    select(M.c.id)
                    .where(column == value, M.c.brand.in_(brands), M.c.created_at >= since)
                    .limit(1)
                ).first()
            ]
            out[name] = sorted(seen)
    return out


def has_mentions(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(M.c.id).limit(1)).first() is not None


def mention(engine: Engine, mention_id: int) -> dict[str, Any] | None:
    """One mention with its reading and response state, for the action panel."""
    view = _View()
    query = (
        select(*_mention_columns(view), S.c.model_id, S.c.label.label("model_label"))
        .select_from(view.joined())
        .where(M.c.id == mention_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


# --- spreading ---------------------------------------------------------------------------------


def _spreading_conditions(view: _View, complaints_only: bool, include_handled: bool) -> list[Any]:
    conds: list[Any] = []
    if complaints_only:
        conds.append(or_(view.complaint == true(), view.label == "negative"))
    if not include_handled:
        conds.append(view.state.in_(OPEN_STATES))
    return conds


def spreading(
    engine: Engine,
    brands: Sequence[str],
    since: datetime,
    *,
    limit: int = 20,
    complaints_only: bool = True,
    include_handled: bool = False,
) -> pd.DataFrame:
    """Mentions published since ``since`` with a forecast, riskiest first."""
    view = _View()
    query = (
        select(
            *_mention_columns(view),
            F.c.risk,
            F.c.final,
            F.c.low,
            F.c.high,
            F.c.reshares_now.label("reshares"),
            F.c.seconds_to_threshold,
            F.c.reasons,
            F.c.computed_at,
        )
        .select_from(view.joined().join(F, F.c.mention_id == M.c.id))
        .where(M.c.brand.in_(brands), M.c.created_at >= since)
        .where(*_spreading_conditions(view, complaints_only, include_handled))
        .order_by(F.c.risk.desc(), M.c.created_at.desc())
        .limit(limit)
    )
    return _frame(engine, query)


def reshare_growth(
    engine: Engine,
    brands: Sequence[str],
    since: datetime,
    window_start: datetime,
    *,
    limit: int = 20,
    complaints_only: bool = True,
    include_handled: bool = False,
) -> pd.DataFrame:
    """Reshares gained since ``window_start``, for installations without forecasts yet."""
    view = _View()
    seen = (
        select(
            E.c.mention_id,
            func.max(E.c.reshares).label("reshares"),
            func.min(E.c.reshares).label("first"),
        )
        .join(M, M.c.id == E.c.mention_id)
        .where(
            M.c.brand.in_(brands),
            M.c.created_at >= since,
            E.c.observed_at >= window_start,
            E.c.reshares.is_not(None),
        )
        .group_by(E.c.mention_id)
        .subquery("seen")
    )
    growth = seen.c.reshares - case((M.c.created_at >= window_start, 0), else_=seen.c.first)
    query = (
        select(*_mention_columns(view), seen.c.reshares, growth.label("growth"))
        .select_from(view.joined().join(seen, seen.c.mention_id == M.c.id))
        .where(growth > 0, *_spreading_conditions(view, complaints_only, include_handled))
        .order_by(growth.desc(), M.c.created_at.desc())
        .limit(limit)
    )
    return _frame(engine, query)


def engagement(engine: Engine, mention_ids: Sequence[int]) -> pd.DataFrame:
    """Every engagement snapshot of the given mentions, oldest first."""
    query = (
        select(E.c.mention_id, E.c.observed_at, E.c.likes, E.c.reshares, E.c.replies, E.c.views)
        .where(E.c.mention_id.in_(list(mention_ids)))
        .order_by(E.c.mention_id, E.c.observed_at)
    )
    return _frame(engine, query)


# --- incidents ---------------------------------------------------------------------------------


def incidents(
    engine: Engine, brands: Sequence[str], since: datetime, *, open_only: bool = False
) -> pd.DataFrame:
    """Incidents still active since ``since``, riskiest first, with their representative post."""
    query = (
        select(
            I.c.id,
            I.c.brand,
            I.c.title,
            I.c.status,
            I.c.size,
            I.c.authors,
            I.c.languages,
            I.c.terms,
            I.c.risk,
            I.c.reasons,
            I.c.first_seen,
            I.c.last_seen,
            I.c.answered_at,
            I.c.representative_id,
            M.c.text.label("representative_text"),
        )
        .select_from(I.outerjoin(M, M.c.id == I.c.representative_id))
        .where(I.c.brand.in_(brands), I.c.last_seen >= since)
        .order_by(I.c.risk.desc(), I.c.last_seen.desc())
        .limit(200)
    )
    if open_only:
        query = query.where(I.c.status == "open")
    return _frame(engine, query)


def incident_growth(engine: Engine, incident_id: int, grain: Grain) -> pd.DataFrame:
    """Mentions of one incident per time bucket."""
    bucket = _bucket(engine, M.c.created_at, grain).label("bucket")
    query = (
        select(bucket, func.count().label("mentions"))
        .select_from(IM.join(M, M.c.id == IM.c.mention_id))
        .where(IM.c.incident_id == incident_id)
        .group_by(literal_column("bucket"))
        .order_by(literal_column("bucket"))
    )
    return _times(_frame(engine, query), "bucket")


def incident_languages(engine: Engine, incident_id: int) -> pd.DataFrame:
    language = func.coalesce(M.c.language, literal_column("'?'")).label("lang")
    query = (
        select(language, func.count().label("mentions"))
        .select_from(IM.join(M, M.c.id == IM.c.mention_id))
        .where(IM.c.incident_id == incident_id)
        .group_by(literal_column("lang"))
        .order_by(func.count().desc())
    )
    return _frame(engine, query)


def incident_members(engine: Engine, incident_id: int, limit: int = 300) -> pd.DataFrame:
    """The incident's mentions, most reshared first (the representative ones lead)."""
    view = _View()
    reshares = _latest_engagement(E.c.reshares)
    query = (
        select(*_mention_columns(view), reshares.label("reshares"))
        .select_from(view.joined(IM.join(M, M.c.id == IM.c.mention_id)))
        .where(IM.c.incident_id == incident_id)
        .order_by(func.coalesce(reshares, 0).desc(), M.c.created_at)
        .limit(limit)
    )
    return _frame(engine, query)


def incident_events(engine: Engine, incident_id: int) -> pd.DataFrame:
    """Milestones of an incident: first post, alerts raised and sent, first public answer."""
    members = select(IM.c.mention_id).where(IM.c.incident_id == incident_id)
    span = select(func.min(M.c.created_at), func.max(M.c.created_at)).where(M.c.id.in_(members))
    answered = select(func.min(R.c.answered_at)).where(R.c.mention_id.in_(members))
    alerts = select(A.c.created_at, A.c.sent_at, A.c.kind, A.c.status).where(
        A.c.mention_id.in_(members)
    )
    events: list[tuple[Any, str]] = []
    with engine.connect() as conn:
        first, last = conn.execute(span).one()
        first_answer = conn.execute(answered).scalar()
        incident_answer = conn.execute(
            select(I.c.answered_at).where(I.c.id == incident_id)
        ).scalar()
        for created, sent, kind, status in conn.execute(alerts):
            events.append((created, f"{kind} alert raised ({status})"))
            if sent is not None:
                events.append((sent, f"{kind} alert delivered"))
    events += [(first, "first mention"), (last, "latest mention")]
    events += [(first_answer, "first public answer"), (incident_answer, "incident answered")]
    rows = sorted((_aware(t), what) for t, what in events if t is not None)
    return pd.DataFrame(rows, columns=["time", "event"])


def _aware(value: datetime) -> datetime:
    """Aggregates lose the column type: restore aware UTC."""
    return pd.Timestamp(value).tz_localize("UTC") if value.tzinfo is None else value


# --- inbox -------------------------------------------------------------------------------------


def _inbox_conditions(engine: Engine, view: _View, f: InboxFilter, now: datetime) -> list[Any]:
    conds: list[Any] = [view.complaint == true(), *_period(f.start, f.end)]
    if f.brands:
        conds.append(M.c.brand.in_(f.brands))
    if f.states:
        conds.append(view.state.in_(f.states))
    if f.assignee:
        conds.append(R.c.assignee == f.assignee)
    if f.breached_only:
        conds.append(_breached(engine, view, f.sla_minutes, now))
    return conds


def _breached(engine: Engine, view: _View, sla_minutes: int, now: datetime) -> Any:
    """Open past the SLA, or answered later than it."""
    late_answer = _minutes_between(engine, M.c.created_at, R.c.answered_at) > sla_minutes
    return or_(
        view.state.in_(OPEN_STATES) & (M.c.created_at < now - timedelta(minutes=sla_minutes)),
        (view.state == "answered") & late_answer,
    )


def inbox(engine: Engine, f: InboxFilter, now: datetime, limit: int = 500) -> pd.DataFrame:
    """Complaints to handle: open ones first, oldest first; then handled ones, newest first."""
    view = _View()
    is_open = view.state.in_(OPEN_STATES)
    until = func.coalesce(R.c.answered_at, literal(now, M.c.created_at.type))
    waited = _minutes_between(engine, M.c.created_at, until)
    query = (
        select(*_mention_columns(view), waited.label("minutes"))
        .select_from(view.joined())
        .where(*_inbox_conditions(engine, view, f, now))
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, M.c.created_at)),
            M.c.created_at.desc(),
        )
        .limit(limit)
    )
    frame = _frame(engine, query)
    frame["breached"] = frame["minutes"] > f.sla_minutes
    frame.loc[frame["state"] == "dismissed", "breached"] = False
    return frame


def inbox_summary(engine: Engine, f: InboxFilter, now: datetime) -> dict[str, Any]:
    """Counts per state, open complaints past the SLA and first-response times of the period.

    The counts come from the rollup except for an assignee (which it does not keep)."""
    deadline = now - timedelta(minutes=f.sla_minutes)
    if f.assignee:
        hours, raw = [], [(f.start, f.end)]
    else:
        hours, raw = _split(engine, f.start, f.end, now, cuts=(deadline,))
    counts = dict.fromkeys(STATES, 0)
    late = 0
    for state, mentions, overdue in [
        *_inbox_counts_raw(engine, f, raw, deadline, now),
        *_inbox_counts_rollup(engine, f, hours, deadline),
    ]:
        counts[state] = counts.get(state, 0) + int(mentions)
        late += int(overdue or 0)
    answered = _answered_minutes(engine, f, now)
    return {"counts": counts, "open_overdue": late, **response_stats(answered, f.sla_minutes)}


def _inbox_counts_raw(
    engine: Engine, f: InboxFilter, spans: Sequence[Span], deadline: datetime, now: datetime
) -> list[Any]:
    """(state, complaints, overdue) counted from the mentions of the spans."""
    if not spans:
        return []
    view = _View()
    scope = InboxFilter(f.brands, (), f.assignee, sla_minutes=f.sla_minutes)
    overdue = case((view.state.in_(OPEN_STATES) & (M.c.created_at < deadline), 1), else_=0)
    query = (
        select(view.state.label("state"), func.count(), func.sum(overdue))
        .select_from(view.joined())
        .where(*_inbox_conditions(engine, view, scope, now), _within(M.c.created_at, spans))
        .group_by(literal_column("state"))
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _inbox_counts_rollup(
    engine: Engine, f: InboxFilter, spans: Sequence[Span], deadline: datetime
) -> list[Any]:
    """(state, complaints, overdue) from whole hours: an open one is late when its hour ended
    by the deadline (``_split`` leaves the deadline's own hour to the mentions)."""
    if not spans:
        return []
    late = case((H.c.state.in_(OPEN_STATES) & (H.c.hour <= deadline - HOUR), H.c.mentions))
    query = (
        select(
            H.c.state,
            cast(func.sum(H.c.mentions), BigInteger),
            cast(func.coalesce(func.sum(late), 0), BigInteger),
        )
        .where(H.c.complaint == true(), _within(H.c.hour, spans))
        .group_by(H.c.state)
    )
    if f.brands:
        query = query.where(H.c.brand.in_(f.brands))
    with engine.connect() as conn:
        return list(conn.execute(query))


def _answered_minutes(engine: Engine, f: InboxFilter, now: datetime) -> list[float]:
    """Minutes to the first answer of every answered complaint of the period."""
    view = _View()
    scope = InboxFilter(f.brands, (), f.assignee, f.start, f.end, f.sla_minutes)
    minutes = _minutes_between(engine, M.c.created_at, R.c.answered_at)
    query = (
        select(minutes)
        .select_from(view.joined())
        .where(*_inbox_conditions(engine, view, scope, now), R.c.answered_at.is_not(None))
    )
    with engine.connect() as conn:
        return [float(m) for m in conn.execute(query).scalars()]


def response_stats(minutes: Sequence[float], sla_minutes: int) -> dict[str, Any]:
    """Median and 90th percentile time to first response, and the share within the SLA."""
    if not minutes:
        return {"answered": 0, "median_minutes": None, "p90_minutes": None, "within_sla": None}
    ordered = sorted(minutes)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    within = sum(m <= sla_minutes for m in ordered) / len(ordered)
    return {
        "answered": len(ordered),
        "median_minutes": statistics.median(ordered),
        "p90_minutes": p90,
        "within_sla": within,
    }


def assignees(engine: Engine) -> list[str]:
    query = select(R.c.assignee).where(R.c.assignee.is_not(None)).distinct()
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


# --- trends ------------------------------------------------------------------------------------


def volume(
    engine: Engine,
    brands: Sequence[str],
    start: datetime,
    end: datetime,
    grain: Grain,
    by: Dimension,
) -> pd.DataFrame:
    """Mention counts per time bucket, ``by`` value and effective sentiment label."""
    hours, raw = _split(engine, start, end, end)
    frames = [_volume_raw(engine, brands, raw, grain, by)]
    if hours:
        frames.append(_volume_rollup(engine, brands, hours, grain, by))
    frame = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    totals = frame.groupby(["bucket", "dim", "sentiment"], as_index=False)["mentions"].sum()
    return totals.astype({"mentions": "int64"}).sort_values("bucket", ignore_index=True)


def _volume_raw(
    engine: Engine, brands: Sequence[str], spans: Sequence[Span], grain: Grain, by: Dimension
) -> pd.DataFrame:
    view = _View()
    bucket = _bucket(engine, M.c.created_at, grain).label("bucket")
    key = func.coalesce(M.c[by], literal_column("'?'")).label("dim")
    query = (
        select(bucket, key, view.label.label("sentiment"), func.count().label("mentions"))
        .select_from(view.joined(responses=False))
        .where(M.c.brand.in_(brands), _within(M.c.created_at, spans))
        .group_by(literal_column("bucket"), literal_column("dim"), literal_column("sentiment"))
    )
    return _times(_frame(engine, query), "bucket")


def _volume_rollup(
    engine: Engine, brands: Sequence[str], spans: Sequence[Span], grain: Grain, by: Dimension
) -> pd.DataFrame:
    bucket = _bucket(engine, H.c.hour, grain).label("bucket")
    query = (
        select(
            bucket,
            H.c[by].label("dim"),
            H.c.label.label("sentiment"),
            cast(func.sum(H.c.mentions), BigInteger).label("mentions"),
        )
        .where(H.c.brand.in_(brands), _within(H.c.hour, spans))
        .group_by(literal_column("bucket"), literal_column("dim"), literal_column("sentiment"))
    )
    return _times(_frame(engine, query), "bucket")


def response_times(
    engine: Engine, brands: Sequence[str], start: datetime, end: datetime, grain: Grain
) -> pd.DataFrame:
    """Minutes to first response of every complaint answered, per bucket of its publication."""
    view = _View()
    query = (
        select(
            _bucket(engine, M.c.created_at, grain).label("bucket"),
            _minutes_between(engine, M.c.created_at, R.c.answered_at).label("minutes"),
        )
        .select_from(view.joined())
        .where(
            M.c.brand.in_(brands),
            *_period(start, end),
            view.complaint == true(),
            R.c.answered_at.is_not(None),
        )
    )
    return _times(_frame(engine, query), "bucket")


def recent_texts(
    engine: Engine, brands: Sequence[str], start: datetime, end: datetime, limit: int = 4000
) -> pd.DataFrame:
    """The newest texts of the period with their label: the sample topics are drawn from."""
    view = _View()
    query = (
        select(M.c.text, view.label.label("label"))
        .select_from(view.joined(responses=False))
        .where(M.c.brand.in_(brands), *_period(start, end))
        .order_by(M.c.created_at.desc())
        .limit(limit)
    )
    return _frame(engine, query)


# --- sources, alerts, corrections --------------------------------------------------------------


def collector_health(engine: Engine) -> pd.DataFrame:
    query = select(
        CS.c.key,
        CS.c.source,
        CS.c.brand,
        CS.c.last_run_at,
        CS.c.last_success_at,
        CS.c.last_error,
        CS.c.last_items,
        CS.c.items_total,
        CS.c.consecutive_failures,
    ).order_by(CS.c.source, CS.c.brand)
    return _frame(engine, query)


def latest_mention_by_source(engine: Engine, since: datetime) -> pd.DataFrame:
    """When each (source, brand) last brought a mention, within the recent window: one index
    seek per pair, however many mentions there are."""
    rows = []
    with engine.connect() as conn:
        brands = list(_distinct(conn, M.c.brand))
        for source in _distinct(conn, M.c.source):
            for brand in brands:
                latest = conn.execute(
                    select(func.max(M.c.created_at)).where(M.c.source == source, M.c.brand == brand)
                ).scalar()
                if latest is not None and _aware(latest) >= since:
                    rows.append((source, brand, _aware(latest)))
    return _times(pd.DataFrame(rows, columns=["source", "brand", "latest"]), "latest")


def recent_alerts(engine: Engine, limit: int = 100) -> pd.DataFrame:
    query = (
        select(
            A.c.id,
            A.c.created_at,
            A.c.kind,
            A.c.severity,
            A.c.brand,
            A.c.title,
            A.c.status,
            A.c.attempts,
            A.c.next_attempt_at,
            A.c.last_error,
            A.c.sent_at,
        )
        .order_by(A.c.id.desc())
        .limit(limit)
    )
    return _frame(engine, query)


def alert_deliveries(engine: Engine, limit: int = 200) -> pd.DataFrame | None:
    """Per-recipient delivery rows, where the alert sender keeps them (None otherwise)."""
    if not inspect(engine).has_table("alert_deliveries"):
        return None
    table = Table("alert_deliveries", MetaData(), autoload_with=engine)
    columns = [
        table.c[name]
        for name in (
            "alert_id",
            "channel",
            "target",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
        )
        if name in table.c
    ]
    order = table.c["id"] if "id" in table.c else columns[0]
    return _frame(engine, select(*columns).order_by(order.desc()).limit(limit))


def corrections(engine: Engine) -> pd.DataFrame:
    """Every sentiment correction with its text: the retraining export."""
    query = (
        select(
            C.c.mention_id,
            M.c.source,
            M.c.language,
            M.c.text,
            C.c.label,
            C.c.is_complaint,
            C.c.model_label,
            C.c.model_id,
            C.c.corrected_by,
            C.c.corrected_at,
        )
        .join(M, M.c.id == C.c.mention_id)
        .order_by(C.c.id)
    )
    return _frame(engine, query)


def overview(engine: Engine) -> dict[str, Any]:
    """Totals for the settings page (the mention count is estimated in O(1) on PostgreSQL)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            estimate = conn.exec_driver_sql(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass('mentions')"
            ).scalar()
            total = max(int(estimate or 0), 0)
        else:
            total = int(conn.execute(select(func.count()).select_from(M)).scalar_one())
        corrections_count = conn.execute(select(func.count()).select_from(C)).scalar_one()
        # The newest row is the last one collected (ids follow insertion): no full scan.
        newest = select(M.c.collected_at).order_by(M.c.id.desc()).limit(1)
        latest = conn.execute(newest).scalar()
    return {
        "mentions": total,
        "corrections": int(corrections_count),
        "last_collected": _aware(latest) if latest else None,
    }


# --- actions -----------------------------------------------------------------------------------


def _upsert_response(engine: Engine, mention_id: int, values: dict[str, Any]) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(R).values(mention_id=mention_id, **values)
    updates = {k: insert.excluded[k] for k in values}
    if "answered_at" in values:
        updates["answered_at"] = func.coalesce(R.c.answered_at, insert.excluded.answered_at)
    with engine.begin() as conn:
        conn.execute(insert.on_conflict_do_update(index_elements=["mention_id"], set_=updates))
        rollups.refresh_mentions(conn, [mention_id])


def assign(engine: Engine, mention_id: int, assignee: str, now: datetime) -> None:
    """Give a complaint to someone; an answered one stays answered."""
    name = assignee.strip()
    if not name:
        raise ValueError("say who takes it: the assignee is empty")
    with engine.connect() as conn:
        state = conn.execute(select(R.c.status).where(R.c.mention_id == mention_id)).scalar()
    status = "answered" if state == "answered" else "assigned"
    _upsert_response(engine, mention_id, {"status": status, "assignee": name, "updated_at": now})


def mark_answered(engine: Engine, mention_id: int, reply_url: str, now: datetime) -> None:
    """Record the public answer; the first answer time is kept (time to first response)."""
    url = reply_url.strip()
    if url and not url.lower().startswith(("https://", "http://")):
        raise ValueError("the reply URL must start with https:// or http://")
    values = {"status": "answered", "answered_at": now, "updated_at": now}
    _upsert_response(engine, mention_id, {**values, "reply_url": url or None})


def dismiss(engine: Engine, mention_id: int, now: datetime) -> None:
    """Not relevant to the brand: out of the inbox and the spreading list."""
    _upsert_response(engine, mention_id, {"status": "dismissed", "updated_at": now})


def reopen(engine: Engine, mention_id: int, now: datetime) -> None:
    _upsert_response(engine, mention_id, {"status": "new", "updated_at": now})


def correct_sentiment(
    engine: Engine,
    mention_id: int,
    label: str,
    is_complaint: bool,
    by: str | None,
    now: datetime,
) -> None:
    """Store a person's reading next to the model's (kept for evaluation and retraining)."""
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}")
    with engine.begin() as conn:
        model = conn.execute(
            select(S.c.label, S.c.model_id).where(S.c.mention_id == mention_id)
        ).first()
        conn.execute(
            C.insert().values(
                mention_id=mention_id,
                label=label,
                is_complaint=is_complaint,
                model_label=model.label if model else None,
                model_id=model.model_id if model else None,
                corrected_by=(by or "").strip()[:128] or None,
                corrected_at=now,
            )
        )
        rollups.refresh_mentions(conn, [mention_id])


def send_alert_now(engine: Engine, mention_id: int, now: datetime, by: str | None) -> bool:
    """Queue a manual alert about one mention; the alert sender delivers it like any other."""
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(
                    M.c.brand,
                    M.c.text,
                    M.c.author,
                    M.c.url,
                    M.c.author_followers,
                    M.c.source,
                    M.c.language,
                ).where(M.c.id == mention_id)
            )
            .mappings()
            .one()
        )
        snippet = " ".join(row["text"].split())[:80]
        key = f"manual:{mention_id}:{now:%Y%m%dT%H%M%S}"
        if conn.execute(select(A.c.id).where(A.c.dedup_key == key)).first() is not None:
            return False  # a double click: the alert of this second is already queued
        raise_alert(
            conn,
            kind="manual",
            dedup_key=key,
            brand=row["brand"],
            title=f"Flagged from the dashboard: {snippet}",
            details={**{k: row[k] for k in row if k != "brand"}, "requested_by": by or None},
            now=now,
            mention_id=mention_id,
            severity="high",
        )
        return True
