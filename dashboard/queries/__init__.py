"""Every SQL statement of the dashboard, one module per page, people's actions apart.

Aggregations run in the database, on indexed time ranges, so a page over a million mentions
ships only the rows it shows. Counts over periods (Trends' volumes, the Inbox's states) add up the
hourly rollup (``monitor.storage.rollups``) for the whole hours of the period and count the
mentions of the partial hours at its edges, so they stay exact. Functions take an Engine and
plain values (no Streamlit), so they are tested directly and cached by the caller.

The dashboard only reads, and writes people's actions (:mod:`dashboard.queries.actions`); the
names below are the pages' single entry point.
"""

from __future__ import annotations

from dashboard.queries.actions import (
    assign,
    correct_sentiment,
    dismiss,
    mark_answered,
    reopen,
    send_alert_now,
)
from dashboard.queries.inbox import assignees, inbox, inbox_summary
from dashboard.queries.incidents import (
    incident_events,
    incident_growth,
    incident_languages,
    incident_members,
    incidents,
)
from dashboard.queries.live import (
    facet_values,
    feed,
    has_mentions,
    mention,
    newest_mention_at,
    sentiment_counts,
)
from dashboard.queries.shared import (
    LABELS,
    OPEN_STATES,
    STATES,
    UNSCORED,
    Dimension,
    Grain,
    InboxFilter,
    MentionFilter,
)
from dashboard.queries.spreading import engagement, reshare_growth, spreading
from dashboard.queries.status import (
    alert_deliveries,
    collector_health,
    corrections,
    latest_mention_by_source,
    overview,
    quarantined,
    recent_alerts,
)
from dashboard.queries.trends import recent_texts, response_times, volume

__all__ = [
    "LABELS",
    "OPEN_STATES",
    "STATES",
    "UNSCORED",
    "Dimension",
    "Grain",
    "InboxFilter",
    "MentionFilter",
    "alert_deliveries",
    "assign",
    "assignees",
    "collector_health",
    "correct_sentiment",
    "corrections",
    "dismiss",
    "engagement",
    "facet_values",
    "feed",
    "has_mentions",
    "inbox",
    "inbox_summary",
    "incident_events",
    "incident_growth",
    "incident_languages",
    "incident_members",
    "incidents",
    "latest_mention_by_source",
    "mark_answered",
    "mention",
    "newest_mention_at",
    "overview",
    "quarantined",
    "recent_alerts",
    "recent_texts",
    "reopen",
    "reshare_growth",
    "response_times",
    "send_alert_now",
    "sentiment_counts",
    "spreading",
    "volume",
]
