"""Incidents: more people than usual complaining about the same thing.

Each cycle, the brand's recent complaints are embedded with the bundled multilingual encoder
(:mod:`embeddings`), first attached to the open incident they resemble, the rest grouped by
meaning (:mod:`grouping`): over the configured window at ``similarity``, and over every window
(1 h, 3 h, 12 h) in which the brand's complaints are far above their own rate
(:mod:`rates`) at the lower ``burst_similarity``, because complaints arriving together against
the stream's habit most likely share a cause, in whatever language. A group becomes an incident
when its count is improbable under how often that meaning came before (``sensitivity``: false
alarms per month). An incident is named by its themes and languages (:mod:`naming`), grows as
complaints join it, and has one alert (``incident:<id>``) re-sent when its size reaches the
brand's escalation factor, never one alert per complaint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from monitor.alerts.outbox import raise_alert
from monitor.config import Brand
from monitor.detection import incident_store as store
from monitor.detection import naming, rates
from monitor.detection.embeddings import CACHE, EmbeddingCache
from monitor.detection.grouping import (
    MEMBER_MARGIN,
    MIN_EXPECTED,
    Burst,
    Complaint,
    OpenIncident,
    Past,
    Scope,
    attach,
    find_bursts,
    merge,
)
from monitor.detection.risk import IncidentSignals, Risk, incident_risk, severity

MAX_WINDOW = 3000
MAX_BASELINE = 20000
CLUSTER_TESTS = 10
"""Groups tested per window, as the false alarms per month are spread over them."""
BACKGROUND = 500
USUAL_SHARE = 0.5


def burst_similarity(similarity: float, usual_share: float) -> float:
    """How alike complaints must be in a burst, from the share of the window's complaints the
    stream's usual rate accounts for: ``similarity`` while half of them are usual, lower as
    fewer are. Where nearly all are extra (six in three hours on a stream of two a day), short
    complaints in several languages that say the same thing in different words ("werkt niet",
    "crashes again") are one group, however little their embeddings overlap."""
    return similarity * min(1.0, usual_share / USUAL_SHARE)


def scopes(conn: Connection, brand: Brand, now: datetime) -> list[Scope]:
    """The configured window at the usual similarity, and every window in which the brand's
    mentions or complaints (on all sources, or on one) are far above their own rate at a burst
    one (mentions too: the model may read a one-star "werkt niet" as no complaint)."""
    rule = brand.alerts.incidents
    usual = timedelta(minutes=rule.window_minutes)
    windows = sorted({usual, *rates.WINDOWS})
    history = timedelta(hours=brand.alerts.volume.baseline_hours)
    judged = rates.judge(conn, brand.name, now, windows, history)
    threshold = rates.alpha(rule.sensitivity, len({j.source for j in judged}), windows=windows)
    bursting: dict[timedelta, float] = {}
    for j in judged:
        if j.p_value < threshold and j.count >= rule.min_size:
            usual_share = j.expected / j.count
            bursting[j.window] = min(bursting.get(j.window, 1.0), usual_share)
    found = [Scope(w, burst_similarity(rule.burst_similarity, bursting[w]), True)
             for w in windows if w in bursting]
    if usual not in bursting:
        found.insert(0, Scope(usual, rule.similarity, False))
    return found


def detect_incidents(
    engine: Engine, brand: Brand, now: datetime, cache: EmbeddingCache = CACHE
) -> int:
    """One cycle for one brand: grow open incidents, open new ones, alert; returns alerts queued."""
    rule = brand.alerts.incidents
    with engine.connect() as conn:
        first = store.history_start(conn, brand.name)
        if first is None:
            return 0
        windows = scopes(conn, brand, now)
        longest = max(s.window for s in windows)
        recent = store.complaints(conn, brand.name, now - longest, now, MAX_WINDOW)
        past = store.earlier(conn, brand.name,
                             now - longest - timedelta(hours=rule.baseline_hours),
                             now - longest, MAX_BASELINE)
        incidents = store.open_incidents(conn, brand.name)
        known = store.members_of_any(conn, [c.id for c in recent])
    fresh = [c for c in recent if c.id not in known]
    if not fresh:
        return 0
    history = [(r.created_at, r.text, r.language) for r in past]
    history += [(c.created_at, c.text, c.language) for c in recent]
    vectors = cache.embed([text for _, text, _ in history])
    fresh_rows = [len(past) + i for i, c in enumerate(recent) if c.id not in known]
    fresh_vectors = vectors[fresh_rows]
    member = min(s.similarity for s in windows) + MEMBER_MARGIN
    left = attach(incidents, fresh, fresh_vectors, member)
    times = np.array([at.timestamp() for at, _, _ in history])
    alpha = rates.alpha(rule.sensitivity, CLUSTER_TESTS, 1, [s.window for s in windows])
    if len(past) == MAX_BASELINE:  # truncated: the usual rate is counted over what was read
        first = max(first, past[0].created_at)
    bursts = find_bursts(fresh, fresh_vectors, left, Past(times, vectors, first), now, windows,
                         rule, alpha)
    cycle = Cycle(brand, now, [(text, lang) for _, text, lang in history[-BACKGROUND:]], cache)
    with engine.begin() as conn:
        queued = cycle.store(conn, incidents, bursts, fresh, fresh_vectors, member)
        store.close_quiet(conn, brand.name, now, rule.close_after_hours)
    return queued


class Cycle:
    """Writing one cycle's findings: new incidents, grown ones, their figures and alerts."""

    def __init__(self, brand: Brand, now: datetime, background: list[tuple[str, str | None]],
                 cache: EmbeddingCache) -> None:
        self.brand, self.now, self.background, self.cache = brand, now, background, cache

    def store(self, conn: Connection, incidents: list[OpenIncident], bursts: list[Burst],
              fresh: list[Complaint], vectors: np.ndarray, member: float) -> int:
        queued = 0
        for burst in bursts:
            if merge(incidents, burst, member) is not None:
                continue
            representative = burst.members[int(np.argmax(burst.vectors @ burst.centroid))]
            facts = {"expected": burst.expected,
                     "window_minutes": int(burst.scope.window / timedelta(minutes=1)),
                     "p_value": float(f"{burst.p_value:.3g}"), "bursting": burst.scope.bursting}
            incident_id = store.create(conn, self.brand.name, burst.centroid, facts,
                                       representative.id, [c.id for c in burst.members], self.now)
            incidents.append(OpenIncident(incident_id, burst.centroid, len(burst.members),
                                          self.now))
            examples = naming.examples(burst.members, burst.vectors, burst.centroid)
            queued += self._alert(conn, self.refresh(conn, incident_id, examples))
        for incident in incidents:
            if incident.new:
                store.grow(conn, incident)
                keep = [i for i, c in enumerate(fresh) if c.id in set(incident.new)]
                examples = naming.examples([fresh[i] for i in keep], vectors[keep],
                                           incident.centroid)
                queued += self._alert(conn, self.refresh(conn, incident.id, examples))
        return queued

    def _risk(self, stats: store.Stats, burst_ratio: float) -> Risk:
        unanswered = None if stats.answered_at else (self.now - stats.first_seen).total_seconds()
        return incident_risk(
            IncidentSignals(stats.authors, burst_ratio, stats.max_predicted, stats.negativity,
                            unanswered),
            self.brand.alerts,
        )

    def refresh(self, conn: Connection, incident_id: int, examples: list[dict]) -> dict[str, Any]:
        """Recompute the incident's figures, themes and risk, store them, and return its
        alert details."""
        stats = store.stats(conn, incident_id)
        row = store.incident_row(conn, incident_id)
        facts = row.centroid or {}
        window = timedelta(minutes=facts.get("window_minutes",
                                             self.brand.alerts.incidents.window_minutes))
        recent = store.recent_members(conn, incident_id, self.now - window)
        expected = max(float(facts.get("expected", MIN_EXPECTED)), MIN_EXPECTED)
        risk = self._risk(stats, recent / expected)
        members = store.member_texts(conn, incident_id)
        texts = {t for t, _ in members}
        background = [(t, lang) for t, lang in self.background if t not in texts]
        found = naming.themes(self.brand, members, background, self.cache)
        title = naming.title(self.brand, found, stats.authors)
        shares = naming.language_shares(stats.languages)
        store.save(conn, incident_id, title=title, terms={t.name: t.score for t in found},
                   size=stats.size, authors=stats.authors, languages=stats.languages,
                   first_seen=stats.first_seen, last_seen=stats.last_seen,
                   answered_at=stats.answered_at, risk=risk.score, reasons=risk.reasons)
        details: dict[str, Any] = {
            "incident_id": incident_id, "title": title, "similar_count": stats.size,
            "people": stats.authors, "languages": shares, "language": naming.majority(shares),
            "language_counts": stats.languages, "top_terms": [t.name for t in found],
            "first_mention_at": stats.first_seen.isoformat(),
            "risk": risk.score, "risk_reasons": risk.reason_lines(),
            "recent_count": int(recent), "usual_count": round(expected, 2),
            "window_minutes": int(window / timedelta(minutes=1)),
        }
        if examples:
            details["examples"] = examples
        return details | {"severity": severity(risk.score, self.brand.alerts)}

    def _alert(self, conn: Connection, details: dict[str, Any]) -> bool:
        level = details.pop("severity")
        return raise_alert(
            conn,
            kind="incident",
            dedup_key=f"incident:{details['incident_id']}",
            brand=self.brand.name,
            title=details["title"],
            details=details,
            now=self.now,
            severity=level,
            metric=float(details["similar_count"]),
            escalation_factor=self.brand.alerts.escalation_factor,
        )
