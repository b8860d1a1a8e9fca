"""When a sent alert deserves a follow-up, and what the follow-up says changed.

A follow-up every hour teaches people to skim; none at all hides a turn for the worse. So an
alert is sent again only when it escalates: its figure (an incident's size, a forecast) reached
the brand's ``escalation_factor`` times what the last email said, or, for an incident, a
language now holds a fifth of it (it needs a statement of its own), a source it was not on
brings it, or its posts start spreading (later: their number grew by the factor). Each reason
becomes a line of "what changed since the last email".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from monitor.alerts.replies import STATEMENT_SHARE, statement_languages
from monitor.storage.tables import Alert, IncidentMention, Mention

FOOTPRINT = "footprint"


def fmt_int(value: float) -> str:
    return f"{round(value):,}"


def footprint(conn: Connection, details: dict[str, Any]) -> dict[str, Any] | None:
    """An incident's languages and sources (mention counts) and its spreading posts."""
    incident_id = details.get("incident_id")
    if incident_id is None:
        return None
    members = select(IncidentMention.mention_id).where(IncidentMention.incident_id == incident_id)
    counts = {}
    for name in ("language", "source"):
        column = getattr(Mention, name)
        rows = conn.execute(
            select(column, func.count()).where(Mention.id.in_(members)).group_by(column)
        ).all()
        counts[name] = {str(k or "?"): int(n) for k, n in rows}
    spreading = conn.execute(
        select(Alert.mention_id).where(Alert.kind == "spreading", Alert.mention_id.in_(members))
    ).scalars()
    return {"languages": counts["language"], "sources": counts["source"],
            "spreading": sorted(int(m) for m in spreading)}


def _growth(before: float | None, now: float, factor: float) -> list[str]:
    if before is None or now < factor * max(before, 1.0):
        return []
    return [f"{fmt_int(before)} → {fmt_int(now)} (×{now / max(before, 1.0):.1f})"]


def _shares(counts: dict[str, Any]) -> dict[str, float]:
    total = sum(int(n) for n in counts.values()) or 1
    return {lang: int(n) / total for lang, n in counts.items()}


def _new_languages(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Languages that now need a statement and were under half that share in the last email, so
    a language hovering around a fifth does not send a follow-up each time it crosses it."""
    counts = now.get("languages") or {}
    shares, earlier = _shares(counts), _shares(before.get("languages") or {})
    return [
        f"{lang} now holds {round(100 * shares.get(lang, 0))}% of it "
        "(a statement in that language is below)"
        for lang in statement_languages(counts)
        if earlier.get(lang, 0.0) < STATEMENT_SHARE / 2
    ]


def _new_sources(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    known = set(before.get("sources") or {})
    return [f"now also on {source} ({fmt_int(n)})"
            for source, n in (now.get("sources") or {}).items() if source not in known]


def _spreading(before: dict[str, Any], now: dict[str, Any], factor: float) -> list[str]:
    """Its first spreading post, then each time their number grows by the factor."""
    count, earlier = len(now.get("spreading") or []), len(before.get("spreading") or [])
    if count == 0 or (earlier and count < factor * earlier):
        return []
    return [f"{count} of its posts {'is' if count == 1 else 'are'} spreading"]


def changes(
    before_metric: float | None,
    metric: float,
    factor: float,
    before: dict[str, Any] | None,
    now: dict[str, Any] | None,
) -> list[str]:
    """What escalated since the last email; empty when nothing did (no follow-up then)."""
    found = _growth(before_metric, metric, factor)
    if before is not None and now is not None:
        found += _new_languages(before, now) + _new_sources(before, now)
        found += _spreading(before, now, factor)
    return found
