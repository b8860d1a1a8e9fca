"""Inbox: complaints to handle, counts per state against the SLA, and response times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Engine,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from dashboard.queries.shared import (
    OPEN_STATES,
    STATES,
    F,
    H,
    InboxFilter,
    M,
    R,
    S,
    Span,
    View,
    in_period,
    in_spans,
    mention_columns,
    minutes_between,
    split_hours,
    to_frame,
)
from monitor.reports.figures import delay_stats
from monitor.storage.rollups import HOUR


def _inbox_conditions(
    engine: Engine, view: View, f: InboxFilter, now: datetime, questions: bool = False
) -> list[Any]:
    """Complaints (and, for the listing, questions: they need an answer too, but are no
    complaint in the counts) matching the filter."""
    wanted = or_(view.complaint == true(), S.c.intent == "question") if questions else (
        view.complaint == true())
    conds: list[Any] = [wanted, *in_period(f.start, f.end)]
    if f.brands:
        conds.append(M.c.brand.in_(f.brands))
    if f.states:
        conds.append(view.state.in_(f.states))
    if f.assignee:
        conds.append(R.c.assignee == f.assignee)
    if f.breached_only:
        conds.append(_breached(engine, view, f.sla_minutes, now))
    return conds


def _breached(engine: Engine, view: View, sla_minutes: int, now: datetime) -> Any:
    """Open past the SLA, or answered later than it."""
    late_answer = minutes_between(engine, M.c.created_at, R.c.answered_at) > sla_minutes
    return or_(
        view.state.in_(OPEN_STATES) & (M.c.created_at < now - timedelta(minutes=sla_minutes)),
        (view.state == "answered") & late_answer,
    )


def inbox(engine: Engine, f: InboxFilter, now: datetime, limit: int = 500) -> pd.DataFrame:
    """Complaints and questions to handle, most urgent first: open ones by risk, then reach
    (reshares, then the author's audience), then the longest wait; handled ones after, newest
    first. Oldest first put hours-old questions above a complaint with a thousand reshares."""
    view = View()
    is_open = view.state.in_(OPEN_STATES)
    until = func.coalesce(R.c.answered_at, literal(now, M.c.created_at.type))
    waited = minutes_between(engine, M.c.created_at, until)
    risk = func.coalesce(F.c.risk, 0.0)
    reshares = func.coalesce(F.c.reshares_now, 0)
    query = (
        select(
            *mention_columns(view),
            waited.label("minutes"),
            risk.label("risk"),
            reshares.label("reshares"),
        )
        .select_from(view.joined().outerjoin(F, F.c.mention_id == M.c.id))
        .where(*_inbox_conditions(engine, view, f, now, questions=True))
        .order_by(
            case((is_open, 0), else_=1),
            case((is_open, risk), else_=0.0).desc(),
            case((is_open, reshares), else_=0).desc(),
            case((is_open, func.coalesce(M.c.author_followers, 0)), else_=0).desc(),
            case((is_open, M.c.created_at)),
            M.c.created_at.desc(),
        )
        .limit(limit)
    )
    frame = to_frame(engine, query)
    frame["breached"] = frame["minutes"] > f.sla_minutes
    frame.loc[frame["state"] == "dismissed", "breached"] = False
    return frame


def inbox_summary(engine: Engine, f: InboxFilter, now: datetime) -> dict[str, Any]:
    """Counts per state, open complaints past the SLA and first-response times of the period
    (``responses``: the weekly report's :func:`~monitor.reports.figures.delay_stats`).

    The counts come from the rollup except for an assignee (which it does not keep)."""
    deadline = now - timedelta(minutes=f.sla_minutes)
    if f.assignee:
        hours, raw = [], [(f.start, f.end)]
    else:
        hours, raw = split_hours(engine, f.start, f.end, now, cuts=(deadline,))
    counts = dict.fromkeys(STATES, 0)
    late = 0
    for state, mentions, overdue in [
        *_inbox_counts_raw(engine, f, raw, deadline, now),
        *_inbox_counts_rollup(engine, f, hours, deadline),
    ]:
        counts[state] = counts.get(state, 0) + int(mentions)
        late += int(overdue or 0)
    responses = delay_stats(_answered_minutes(engine, f, now), f.sla_minutes)
    return {"counts": counts, "open_overdue": late, "responses": responses}


def _inbox_counts_raw(
    engine: Engine, f: InboxFilter, spans: Sequence[Span], deadline: datetime, now: datetime
) -> list[Any]:
    """(state, complaints, overdue) counted from the mentions of the spans."""
    if not spans:
        return []
    view = View()
    scope = InboxFilter(f.brands, (), f.assignee, sla_minutes=f.sla_minutes)
    overdue = case((view.state.in_(OPEN_STATES) & (M.c.created_at < deadline), 1), else_=0)
    query = (
        select(view.state.label("state"), func.count(), func.sum(overdue))
        .select_from(view.joined())
        .where(*_inbox_conditions(engine, view, scope, now), in_spans(M.c.created_at, spans))
        .group_by(literal_column("state"))
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


def _inbox_counts_rollup(
    engine: Engine, f: InboxFilter, spans: Sequence[Span], deadline: datetime
) -> list[Any]:
    """(state, complaints, overdue) from whole hours: an open one is late when its hour ended
    by the deadline (``split_hours`` leaves the deadline's own hour to the mentions)."""
    if not spans:
        return []
    late = case((H.c.state.in_(OPEN_STATES) & (H.c.hour <= deadline - HOUR), H.c.mentions))
    query = (
        select(
            H.c.state,
            cast(func.sum(H.c.mentions), BigInteger),
            cast(func.coalesce(func.sum(late), 0), BigInteger),
        )
        .where(H.c.complaint == true(), in_spans(H.c.hour, spans))
        .group_by(H.c.state)
    )
    if f.brands:
        query = query.where(H.c.brand.in_(f.brands))
    with engine.connect() as conn:
        return list(conn.execute(query))


def _answered_minutes(engine: Engine, f: InboxFilter, now: datetime) -> list[float]:
    """Minutes to the first answer of every answered complaint of the period."""
    view = View()
    scope = InboxFilter(f.brands, (), f.assignee, f.start, f.end, f.sla_minutes)
    minutes = minutes_between(engine, M.c.created_at, R.c.answered_at)
    query = (
        select(minutes)
        .select_from(view.joined())
        .where(*_inbox_conditions(engine, view, scope, now), R.c.answered_at.is_not(None))
    )
    with engine.connect() as conn:
        return [float(m) for m in conn.execute(query).scalars()]



def assignees(engine: Engine) -> list[str]:
    query = select(R.c.assignee).where(R.c.assignee.is_not(None)).distinct()
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())
