"""Trends page: volumes per period and dimension, response times and the topics' sample."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Engine,
    cast,
    func,
    literal_column,
    select,
    true,
)

from dashboard.queries.shared import (
    Dimension,
    Grain,
    H,
    M,
    R,
    Span,
    View,
    as_utc,
    in_period,
    in_spans,
    minutes_between,
    split_hours,
    time_bucket,
    to_frame,
)


def volume(
    engine: Engine,
    brands: Sequence[str],
    start: datetime,
    end: datetime,
    grain: Grain,
    by: Dimension,
) -> pd.DataFrame:
    """Mention counts per time bucket, ``by`` value and effective sentiment label."""
    hours, raw = split_hours(engine, start, end, end)
    frames = [_volume_raw(engine, brands, raw, grain, by)]
    if hours:
        frames.append(_volume_rollup(engine, brands, hours, grain, by))
    frame = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
    totals = frame.groupby(["bucket", "dim", "sentiment"], as_index=False)["mentions"].sum()
    return totals.astype({"mentions": "int64"}).sort_values("bucket", ignore_index=True)


def _volume_raw(
    engine: Engine, brands: Sequence[str], spans: Sequence[Span], grain: Grain, by: Dimension
) -> pd.DataFrame:
    view = View()
    bucket = time_bucket(engine, M.c.created_at, grain).label("bucket")
    key = func.coalesce(M.c[by], literal_column("'?'")).label("dim")
    query = (
        select(bucket, key, view.label.label("sentiment"), func.count().label("mentions"))
        .select_from(view.joined(responses=False))
        .where(M.c.brand.in_(brands), in_spans(M.c.created_at, spans))
        .group_by(literal_column("bucket"), literal_column("dim"), literal_column("sentiment"))
    )
    return as_utc(to_frame(engine, query), "bucket")


def _volume_rollup(
    engine: Engine, brands: Sequence[str], spans: Sequence[Span], grain: Grain, by: Dimension
) -> pd.DataFrame:
    bucket = time_bucket(engine, H.c.hour, grain).label("bucket")
    query = (
        select(
            bucket,
            H.c[by].label("dim"),
            H.c.label.label("sentiment"),
            cast(func.sum(H.c.mentions), BigInteger).label("mentions"),
        )
        .where(H.c.brand.in_(brands), in_spans(H.c.hour, spans))
        .group_by(literal_column("bucket"), literal_column("dim"), literal_column("sentiment"))
    )
    return as_utc(to_frame(engine, query), "bucket")


def response_times(
    engine: Engine, brands: Sequence[str], start: datetime, end: datetime, grain: Grain
) -> pd.DataFrame:
    """Minutes to first response of every complaint answered, per bucket of its publication."""
    view = View()
    query = (
        select(
            time_bucket(engine, M.c.created_at, grain).label("bucket"),
            minutes_between(engine, M.c.created_at, R.c.answered_at).label("minutes"),
        )
        .select_from(view.joined())
        .where(
            M.c.brand.in_(brands),
            *in_period(start, end),
            view.complaint == true(),
            R.c.answered_at.is_not(None),
        )
    )
    return as_utc(to_frame(engine, query), "bucket")


def recent_texts(
    engine: Engine, brands: Sequence[str], start: datetime, end: datetime, limit: int = 4000
) -> pd.DataFrame:
    """The newest texts of the period with their label and language: the sample topics are
    drawn from."""
    view = View()
    query = (
        select(M.c.text, M.c.language, view.label.label("label"))
        .select_from(view.joined(responses=False))
        .where(M.c.brand.in_(brands), *in_period(start, end))
        .order_by(M.c.created_at.desc())
        .limit(limit)
    )
    return to_frame(engine, query)
