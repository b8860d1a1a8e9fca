"""Release step: apply the brand's rules to waiting alerts and write their deliveries.

New and escalated alerts (``pending``) and held alerts whose time has come are either held
(quiet hours, cooldown) or released: one delivery row per target, for the alert's current
revision, with the Message-ID decided here once, so every retry reuses it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.alerts.compose import alert_message_id, digest_message_id, email_domain
from monitor.alerts.outbox import UNSENT
from monitor.alerts.rules import Candidate, Target, plan, targets
from monitor.alerts.view import brand_rules
from monitor.config import Settings, VigieConfig
from monitor.storage.tables import Alert, AlertDelivery

log = logging.getLogger(__name__)


def _waiting(engine: Engine, now: datetime) -> dict[str, list[Row[Any]]]:
    query = (
        select(
            Alert.id,
            Alert.brand,
            Alert.kind,
            Alert.severity,
            Alert.status,
            Alert.revision,
            Alert.dedup_key,
            Alert.title,
            Alert.details,
        )
        .where(
            or_(
                Alert.status == "pending",
                (Alert.status == "held") & (Alert.next_attempt_at <= now),
            )
        )
        .order_by(Alert.id)
    )
    by_brand: dict[str, list[Row[Any]]] = defaultdict(list)
    with engine.connect() as conn:
        for row in conn.execute(query):
            by_brand[row.brand].append(row)
    return by_brand


def _last_release(conn: Connection, brand: str) -> datetime | None:
    return conn.execute(
        select(func.max(Alert.released_at)).where(Alert.brand == brand, Alert.kind != "manual")
    ).scalar()


def _hold(conn: Connection, row: Row[Any], until: datetime) -> None:
    conn.execute(
        update(Alert)
        .where(Alert.id == row.id, Alert.revision == row.revision, Alert.status.in_(UNSENT))
        .values(status="held", next_attempt_at=until)
    )


def _deliveries(
    row: Row[Any], found: list[Target], unit: str | None, now: datetime, domain: str
) -> list[dict[str, Any]]:
    own_unit = unit or f"a{row.id}.{row.revision}"
    return [
        {
            "alert_id": row.id,
            "revision": row.revision,
            "channel": t.channel,
            "target": t.target,
            "unit": own_unit,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "message_id": digest_message_id(own_unit, t.target, domain)
            if unit
            else alert_message_id(row.id, row.revision, row.dedup_key, domain),
            "created_at": now,
            "content": {"title": row.title, "severity": row.severity, "details": row.details},
        }
        for t in found
    ]


def _release(
    conn: Connection, rows: list[Row[Any]], config: VigieConfig, settings: Settings, now: datetime
) -> int:
    """Release a group (a digest when it holds several alerts); returns how many were released."""
    unit = f"d{uuid.uuid4().hex[:20]}" if len(rows) > 1 else None
    domain = email_domain(settings.smtp_from)
    values: list[dict[str, Any]] = []
    for row in rows:
        moved = conn.execute(
            update(Alert)
            .where(Alert.id == row.id, Alert.revision == row.revision, Alert.status.in_(UNSENT))
            .values(status="queued", released_at=now, next_attempt_at=now)
        )
        if moved.rowcount:
            rules = brand_rules(config, row.brand)
            found = targets(rules, row.severity, bool(settings.smtp_host))
            values += _deliveries(row, found, unit, now, domain)
    if values:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(AlertDelivery.__table__).on_conflict_do_nothing(), values)
    return len({v["alert_id"] for v in values})


def release_due(engine: Engine, config: VigieConfig, settings: Settings, now: datetime) -> int:
    """Hold or release every waiting alert; returns how many alerts were released."""
    released = 0
    for brand, rows in _waiting(engine, now).items():
        rules = brand_rules(config, brand)
        by_id = {row.id: row for row in rows}
        candidates = [Candidate(r.id, r.kind, r.severity, r.status) for r in rows]
        with engine.begin() as conn:
            decided = plan(rules, candidates, _last_release(conn, brand), now)
            for alert_id, until in decided.hold.items():
                _hold(conn, by_id[alert_id], until)
            for group in decided.release:
                released += _release(conn, [by_id[i] for i in group], config, settings, now)
        new = [i for i in decided.hold if by_id[i].status == "pending"]
        if new:
            log.info("%s: %d alert(s) held by quiet hours or cooldown", brand, len(new))
    return released
