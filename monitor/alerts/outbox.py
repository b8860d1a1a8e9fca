"""The alert outbox: detection writes here, in its own transaction; the sender reads from here.

An alert is one row per ``dedup_key`` (one per mention, incident, spike window…). Raising it again
updates it; it is sent again (a new *revision*) only when its ``metric`` (forecast, incident size)
has grown by the brand's escalation factor since the last revision went out. Each revision's
deliveries (one per recipient or chat target) live in ``alert_deliveries``.

Alert ``status``: ``pending`` (new or escalated, rules not yet applied), ``held`` (quiet hours or
cooldown, until ``next_attempt_at``), ``queued`` (deliveries under way), then ``sent`` (every
target has it), ``partial`` or ``failed``. Delivery ``status``: ``pending``, ``claimed`` and
``sending`` (a sender holds it), ``sent``, ``failed`` (refused for good), ``unknown`` (the sender
died mid-transfer: not resent automatically, see :mod:`monitor.alerts.deliver`), ``superseded``
(a newer revision replaced it before it went out).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.alerts.escalation import FOOTPRINT, changes, footprint
from monitor.alerts.rules import RANK
from monitor.storage.tables import Alert, AlertDelivery

UNSENT = ("pending", "held")
RETRYABLE = ("unknown", "failed")


def _max_severity(a: str, b: str) -> str:
    return a if RANK.get(a, 1) >= RANK.get(b, 1) else b


def raise_alert(
    conn: Connection,
    *,
    kind: str,
    dedup_key: str,
    brand: str,
    title: str,
    details: dict[str, Any],
    now: datetime,
    mention_id: int | None = None,
    severity: str = "warning",
    metric: float | None = None,
    escalation_factor: float = 2.0,
) -> bool:
    """Queue an alert, in the caller's transaction; True when something new will be sent.

    With the same ``dedup_key`` as an existing alert: a not-yet-sent alert is refreshed with the
    newer figures; a sent one is re-sent as a new revision only when it escalated (see
    :mod:`monitor.alerts.escalation`): ``metric`` reached ``escalation_factor`` × the metric of
    the revision that went out, or its incident gained a language, a source or a spreading post.
    """
    print_ = footprint(conn, details)
    if print_ is not None:
        details = {**details, FOOTPRINT: print_}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(Alert.__table__)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Alert.id)  # rowcount is not reliable with ON CONFLICT on every driver
    )
    values = {"title": title, "details": details, "metric": metric, "updated_at": now}
    row = {
        **values,
        "kind": kind,
        "dedup_key": dedup_key,
        "brand": brand,
        "mention_id": mention_id,
        "severity": severity,
        "status": "pending",
        "attempts": 0,
        "revision": 1,
        "next_attempt_at": now,
        "created_at": now,
    }
    if conn.execute(stmt, row).first() is not None:
        return True
    if metric is None:
        return False
    return _update_existing(conn, dedup_key, values, severity, metric, escalation_factor, now)


def _update_existing(
    conn: Connection,
    dedup_key: str,
    values: dict[str, Any],
    severity: str,
    metric: float,
    factor: float,
    now: datetime,
) -> bool:
    current = conn.execute(
        select(Alert.id, Alert.revision, Alert.metric, Alert.status, Alert.severity, Alert.details)
        .where(Alert.dedup_key == dedup_key)
        .with_for_update()
    ).one()
    values = {**values, "severity": _max_severity(current.severity, severity)}
    guard = update(Alert).where(Alert.id == current.id, Alert.revision == current.revision)
    if current.status in UNSENT:
        if current.metric is None or metric > current.metric:
            conn.execute(guard.values(**values, status="pending"))
        return False
    details = values["details"]
    what = changes(current.metric, metric, factor, (current.details or {}).get(FOOTPRINT),
                   details.get(FOOTPRINT))
    if not what:
        return False
    values["details"] = {**details, "changes": what}
    escalated = conn.execute(
        guard.values(
            **values,
            revision=current.revision + 1,
            status="pending",
            next_attempt_at=now,
            sent_at=None,
            last_error=None,
        )
    )
    conn.execute(
        update(AlertDelivery)
        .where(AlertDelivery.alert_id == current.id, AlertDelivery.status == "pending")
        .values(status="superseded")
    )
    return escalated.rowcount > 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One revision to one target, as the dashboard shows it (never a secret: webhooks are
    named by their ``env:NAME`` or a hash)."""

    channel: str
    target: str
    revision: int
    status: str
    attempts: int
    message_id: str | None
    sent_at: datetime | None
    next_attempt_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where an alert stands: its status, its revision, when it goes out if held, and each
    delivery of every revision."""

    alert_id: int
    status: str
    revision: int
    held_until: datetime | None
    sent_at: datetime | None
    deliveries: list[Delivery]


def delivery_state(engine: Engine, alert_ids: Iterable[int]) -> dict[int, AlertState]:
    """Delivery state of the given alerts (unknown ids are left out)."""
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        return {}
    with engine.connect() as conn:
        alerts = conn.execute(
            select(
                Alert.id, Alert.status, Alert.revision, Alert.next_attempt_at, Alert.sent_at
            ).where(Alert.id.in_(ids))
        ).all()
        rows = conn.execute(
            select(AlertDelivery.__table__)
            .where(AlertDelivery.alert_id.in_(ids))
            .order_by(AlertDelivery.revision, AlertDelivery.id)
        ).all()
    by_alert: dict[int, list[Delivery]] = {}
    for d in rows:
        by_alert.setdefault(d.alert_id, []).append(
            Delivery(
                d.channel,
                d.target,
                d.revision,
                d.status,
                d.attempts,
                d.message_id,
                d.sent_at,
                d.next_attempt_at,
                d.last_error,
            )
        )
    return {
        a.id: AlertState(
            a.id,
            a.status,
            a.revision,
            a.next_attempt_at if a.status == "held" else None,
            a.sent_at,
            by_alert.get(a.id, []),
        )
        for a in alerts
    }


def retry_deliveries(engine: Engine, now: datetime, alert_ids: Iterable[int] | None = None) -> int:
    """Send again what ended ``unknown`` or ``failed`` (a person's decision, e.g. after checking
    the inbox); the Message-ID is unchanged, so mail clients that deduplicate still do."""
    current = select(Alert.revision).where(Alert.id == AlertDelivery.alert_id).scalar_subquery()
    query = (
        update(AlertDelivery)
        .where(AlertDelivery.status.in_(RETRYABLE), AlertDelivery.revision == current)
        .values(status="pending", next_attempt_at=now, claimed_by=None, lease_until=None)
    )
    if alert_ids is not None:
        query = query.where(AlertDelivery.alert_id.in_(list(alert_ids)))
    waiting = (
        select(AlertDelivery.id)
        .where(AlertDelivery.alert_id == Alert.id, AlertDelivery.status == "pending")
        .exists()
    )
    with engine.begin() as conn:
        count = conn.execute(query).rowcount
        conn.execute(
            update(Alert)
            .where(Alert.status.in_(("failed", "partial")), waiting)
            .values(status="queued")
        )
    return count
