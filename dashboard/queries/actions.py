"""People's actions, the dashboard's only writes: assign, answer, dismiss, reopen, correct a
reading, flag a mention for an alert (raised by :mod:`monitor.alerts.manual`).

Each write refreshes the hourly rollup of the mention it touches, so counts stay exact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.queries.shared import LABELS, C, R, S
from monitor.alerts.manual import flag_mention
from monitor.display import safe_url
from monitor.storage import rollups


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
    if url and safe_url(url) is None:
        raise ValueError(
            "the reply URL must start with https:// or http:// and hold no password or space"
        )
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
    """Ask the alert stage for a manual alert about one mention; False for a double click."""
    with engine.begin() as conn:
        return flag_mention(conn, mention_id, now, by)
