"""Delivery rows through their states, so each target gets each alert revision at most once.

``pending`` → ``claimed`` (a sender took it, with a lease; committed before any network I/O) →
``sending`` (committed just before the message is handed over: SMTP DATA, the webhook POST) →
``sent``. A sender that dies while ``claimed`` never started the transfer, so the row goes back to
``pending`` when the lease ends. One that dies while ``sending`` may or may not have delivered:
that row becomes ``unknown`` and is *not* resent on its own (at-most-once per recipient; a person
can resend it with :func:`monitor.alerts.outbox.retry_deliveries`). Every write is guarded by the
claim token, so a slow sender whose lease ran out cannot overwrite another's work.

Leases use the wall clock, whatever clock the pipeline runs on (the demo replays simulated time).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, tuple_, update

from monitor.storage.tables import Alert, AlertDelivery

D = AlertDelivery
MAX_BACKOFF = timedelta(hours=1)
UNKNOWN_NOTE = "outcome unknown; not resent automatically (at-most-once)"


def wall_now() -> datetime:
    return datetime.now(UTC)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min … capped at an hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass
class Unit:
    """One message: a unit (an alert revision, or a digest) to one target."""

    unit: str
    channel: str
    target: str
    message_id: str
    ids: list[int] = field(default_factory=list)
    alerts: list[tuple[int, int]] = field(default_factory=list)
    attempts: int = 0
    # (alert id, revision) -> that revision's title, severity and details, fixed at release
    contents: dict[tuple[int, int], dict[str, Any] | None] = field(default_factory=dict)


def recover(engine: Engine) -> list[int]:
    """Settle rows of senders that died: back to pending, or ``unknown`` mid-transfer.

    Returns the ids of alerts whose state changed.
    """
    wall = wall_now()
    expired = D.lease_until < wall
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(D.status == "claimed", expired)
            .values(status="pending", claimed_by=None, lease_until=None)
        )
        lost = conn.execute(
            update(D)
            .where(D.status == "sending", expired)
            .values(status="unknown", last_error=f"sender stopped mid-transfer ({UNKNOWN_NOTE})")
            .returning(D.alert_id)
        ).scalars()
        return sorted(set(lost))


def claim(engine: Engine, token: str, now: datetime, lease: float, limit: int) -> list[Unit]:
    """Take up to ``limit`` due messages for this sender, in one statement (race-free)."""
    due = (D.status == "pending", D.next_attempt_at <= now)
    keys = (
        select(D.unit, D.channel, D.target)
        .where(*due)
        .group_by(D.unit, D.channel, D.target)
        .order_by(func.min(D.id))
        .limit(limit)
    )
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(*due, tuple_(D.unit, D.channel, D.target).in_(keys.scalar_subquery()))
            .values(
                status="claimed",
                claimed_by=token,
                lease_until=wall_now() + timedelta(seconds=lease),
            )
        )
        rows = conn.execute(
            select(
                D.id,
                D.unit,
                D.channel,
                D.target,
                D.message_id,
                D.alert_id,
                D.revision,
                D.attempts,
                D.content,
            )
            .where(D.claimed_by == token, D.status == "claimed")
            .order_by(D.id)
        ).all()
    units: dict[tuple[str, str, str], Unit] = {}
    for row in rows:
        key = (row.unit, row.channel, row.target)
        unit = units.setdefault(key, Unit(row.unit, row.channel, row.target, row.message_id or ""))
        unit.ids.append(row.id)
        unit.alerts.append((row.alert_id, row.revision))
        unit.contents[(row.alert_id, row.revision)] = row.content
        unit.attempts = max(unit.attempts, row.attempts)
    return list(units.values())


def _mine(unit: Unit, token: str) -> tuple:
    return (D.id.in_(unit.ids), D.claimed_by == token)


def begin_sending(engine: Engine, unit: Unit, token: str, lease: float) -> bool:
    """The point of no return, committed before the transfer; False if the claim was lost."""
    with engine.begin() as conn:
        result = conn.execute(
            update(D)
            .where(*_mine(unit, token), D.status == "claimed")
            .values(status="sending", lease_until=wall_now() + timedelta(seconds=lease))
        )
    return result.rowcount == len(unit.ids)


def mark_sent(engine: Engine, unit: Unit, token: str, now: datetime) -> None:
    """Delivered: wins even over ``unknown`` set meanwhile by a recovering sender."""
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(*_mine(unit, token))
            .values(
                status="sent",
                sent_at=now,
                attempts=D.attempts + 1,
                lease_until=None,
                last_error=None,
            )
        )


def mark_retry(engine: Engine, unit: Unit, token: str, now: datetime, error: str) -> datetime:
    """Not delivered and safe to try again later (the server refused or was unreachable)."""
    when = now + backoff(unit.attempts + 1)
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(*_mine(unit, token), D.status.in_(("claimed", "sending")))
            .values(
                status="pending",
                attempts=D.attempts + 1,
                next_attempt_at=when,
                claimed_by=None,
                lease_until=None,
                last_error=error,
            )
        )
    return when


def mark_failed(engine: Engine, unit: Unit, token: str, error: str) -> None:
    """Refused for good (e.g. unknown recipient): retrying would not help."""
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(*_mine(unit, token), D.status.in_(("claimed", "sending")))
            .values(status="failed", attempts=D.attempts + 1, lease_until=None, last_error=error)
        )


def mark_unknown(engine: Engine, unit: Unit, token: str, error: str) -> None:
    """The connection broke during the transfer: it may have arrived, so it is not resent."""
    with engine.begin() as conn:
        conn.execute(
            update(D)
            .where(*_mine(unit, token), D.status == "sending")
            .values(
                status="unknown",
                attempts=D.attempts + 1,
                lease_until=None,
                last_error=f"{error} ({UNKNOWN_NOTE})",
            )
        )


def _summary(statuses: list[str]) -> str:
    if any(s in ("pending", "claimed", "sending") for s in statuses):
        return "queued"
    if all(s == "sent" for s in statuses):
        return "sent"
    return "partial" if "sent" in statuses else "failed"


def refresh_alerts(engine: Engine, alert_ids: list[int]) -> None:
    """Roll the deliveries of each alert's current revision up into the alert row."""
    if not alert_ids:
        return
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                Alert.id,
                Alert.revision,
                D.status,
                D.sent_at,
                D.attempts,
                D.last_error,
                D.message_id,
            )
            .join(D, (D.alert_id == Alert.id) & (D.revision == Alert.revision))
            .where(Alert.id.in_(sorted(set(alert_ids))), D.status != "superseded")
            .order_by(D.id)
        ).all()
        grouped: dict[tuple[int, int], list] = defaultdict(list)
        for row in rows:
            grouped[(row.id, row.revision)].append(row)
        for (alert_id, revision), items in grouped.items():
            status = _summary([r.status for r in items])
            sent = [r.sent_at for r in items if r.sent_at is not None]
            errors = [r.last_error for r in items if r.last_error]
            conn.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.revision == revision,
                    Alert.status.not_in(("pending", "held")),
                )
                .values(
                    status=status,
                    attempts=sum(r.attempts for r in items),
                    sent_at=max(sent) if status == "sent" else None,
                    last_error=errors[-1] if errors else None,
                    message_id=items[0].message_id,
                )
            )
