"""Spreading page: mentions with a forecast, riskiest first, and their engagement series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    case,
    func,
    or_,
    select,
    true,
)

from dashboard.queries.shared import (
    OPEN_STATES,
    E,
    F,
    M,
    View,
    mention_columns,
    to_frame,
)


def _spreading_conditions(view: View, complaints_only: bool, include_handled: bool) -> list[Any]:
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
    view = View()
    query = (
        select(
            *mention_columns(view),
            F.c.risk,
            F.c.final,
            F.c.low,
            F.c.high,
            F.c.reshares_now.label("reshares"),
            F.c.reasons,
            F.c.computed_at,
        )
        .select_from(view.joined().join(F, F.c.mention_id == M.c.id))
        .where(M.c.brand.in_(brands), M.c.created_at >= since)
        .where(*_spreading_conditions(view, complaints_only, include_handled))
        .order_by(F.c.risk.desc(), M.c.created_at.desc())
        .limit(limit)
    )
    return to_frame(engine, query)


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
    view = View()
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
        select(*mention_columns(view), seen.c.reshares, growth.label("growth"))
        .select_from(view.joined().join(seen, seen.c.mention_id == M.c.id))
        .where(growth > 0, *_spreading_conditions(view, complaints_only, include_handled))
        .order_by(growth.desc(), M.c.created_at.desc())
        .limit(limit)
    )
    return to_frame(engine, query)


def engagement(engine: Engine, mention_ids: Sequence[int]) -> pd.DataFrame:
    """Every engagement snapshot of the given mentions, oldest first."""
    query = (
        select(E.c.mention_id, E.c.observed_at, E.c.likes, E.c.reshares, E.c.replies, E.c.views)
        .where(E.c.mention_id.in_(list(mention_ids)))
        .order_by(E.c.mention_id, E.c.observed_at)
    )
    return to_frame(engine, query)
