"""Settings page: collector health, alerts and their deliveries, corrections, totals."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    func,
    inspect,
    select,
)

from dashboard.queries.shared import (
    CS,
    A,
    C,
    M,
    as_utc,
    aware,
    distinct_values,
    to_frame,
)
from monitor.storage import quarantine


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
    return to_frame(engine, query)


def quarantined(engine: Engine, limit: int = 100) -> pd.DataFrame:
    """Items sources sent that could not be read (``python -m monitor quarantine`` lists them)."""
    rows = quarantine.recent(engine, limit)
    return pd.DataFrame([asdict(e) for e in rows], columns=list(quarantine.Entry.__slots__))


def latest_mention_by_source(engine: Engine, since: datetime) -> pd.DataFrame:
    """When each (source, brand) last brought a mention, within the recent window: one index
    seek per pair, however many mentions there are."""
    rows = []
    with engine.connect() as conn:
        brands = list(distinct_values(conn, M.c.brand))
        for source in distinct_values(conn, M.c.source):
            for brand in brands:
                latest = conn.execute(
                    select(func.max(M.c.created_at)).where(M.c.source == source, M.c.brand == brand)
                ).scalar()
                if latest is not None and aware(latest) >= since:
                    rows.append((source, brand, aware(latest)))
    return as_utc(pd.DataFrame(rows, columns=["source", "brand", "latest"]), "latest")


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
    return to_frame(engine, query)


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
    return to_frame(engine, select(*columns).order_by(order.desc()).limit(limit))


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
    return to_frame(engine, query)


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
        "last_collected": aware(latest) if latest else None,
    }
