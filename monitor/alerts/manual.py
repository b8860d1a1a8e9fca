"""Alerts a person asks for: a colleague flags a mention on the dashboard.

The dashboard records the request through :func:`flag_mention`; what the alert says and how it is
keyed lives here, beside the other alert kinds, and the sender delivers it like any other.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from monitor.alerts.outbox import raise_alert
from monitor.storage.tables import Alert, Mention

MENTION_COLUMNS = ("text", "author", "url", "author_followers", "source", "language")


def flag_mention(conn: Connection, mention_id: int, now: datetime, by: str | None) -> bool:
    """Queue a high-severity alert about one mention, in the caller's transaction.

    False for a double click: the alert requested in the same second is already queued.
    """
    columns = [Mention.brand, *(getattr(Mention, name) for name in MENTION_COLUMNS)]
    row = conn.execute(select(*columns).where(Mention.id == mention_id)).mappings().one()
    key = f"manual:{mention_id}:{now:%Y%m%dT%H%M%S}"
    if conn.execute(select(Alert.id).where(Alert.dedup_key == key)).first() is not None:
        return False
    snippet = " ".join(row["text"].split())[:80]
    raise_alert(
        conn,
        kind="manual",
        dedup_key=key,
        brand=row["brand"],
        title=f"Flagged from the dashboard: {snippet}",
        details={**{name: row[name] for name in MENTION_COLUMNS}, "requested_by": by or None},
        now=now,
        mention_id=mention_id,
        severity="high",
    )
    return True
