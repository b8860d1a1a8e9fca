"""Incidents: many people complaining about the same thing, found as a burst of one meaning.

Each cycle, the brand's complaints of the last ``window_minutes`` are embedded with the bundled
multilingual encoder (the same complaint in French, Dutch or English lands close), first attached
to the open incident they resemble, the rest clustered (average-linkage, cosine). A cluster
becomes an incident when it is a burst against its *own* past: complaints of the previous
``baseline_hours`` that resemble it give the usual rate, and a Poisson test says whether the
window is far above it. Everyday complaints ("the app crashed") recur at a steady rate and stay
quiet; a new cause does not. An incident is named by its top terms and its most typical mention,
grows as complaints join it, and has one alert (``incident:<id>``) that is re-sent when its size
reaches the brand's escalation factor, never one alert per complaint.
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.stats import poisson
from sklearn.cluster import AgglomerativeClustering
from sqlalchemy import Connection, Engine, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from monitor.alerts.outbox import raise_alert
from monitor.config import Brand
from monitor.detection.risk import IncidentSignals, Risk, incident_risk, severity
from monitor.storage.tables import (
    Forecast,
    Incident,
    IncidentMention,
    Mention,
    Response,
    Sentiment,
)

ALPHA = {"fewer": 1e-6, "balanced": 1e-4, "more": 1e-2}
"""Chance of so many similar complaints at the usual rate, below which it is a burst."""
MEMBER_MARGIN = 0.15
"""A complaint joins a meaning when its similarity to the centroid reaches the clustering
similarity plus this: a centroid averages its members' noise away, so similarities to it are
higher than between two members."""
MIN_EXPECTED = 0.5
"""Floor of the expected count per window: a meaning never seen before is not infinitely rare."""
MAX_WINDOW = 3000
MAX_BASELINE = 20000
TOP_TERMS = 8
_WORD = re.compile(r"[^\W\d_]{3,}")


class EmbeddingCache:
    """Embeddings of recent complaints by text, so each text is encoded once per process.

    The encoder costs milliseconds per text; a cycle over a day of complaints would otherwise
    re-encode thousands of them every minute. Keyed by the text itself (not a mention id), so
    reposts share one vector and two databases never mix theirs up.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: list[str]) -> np.ndarray:
        """(n, d) L2-normalised embeddings in the order of ``texts``."""
        from models.sentiment.encoders import USE_DIM, use_embed
        from models.sentiment.text import normalize

        keys = [normalize(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        for k, v in zip(missing, use_embed(missing), strict=True):
            self._vectors[k] = v.astype(np.float32)
        for k in keys:
            self._vectors.move_to_end(k)
        vectors = [self._vectors[k] for k in keys]
        while len(self._vectors) > self.capacity:
            self._vectors.popitem(last=False)
        return np.stack(vectors) if vectors else np.zeros((0, USE_DIM), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._vectors)


CACHE = EmbeddingCache()


@dataclass(slots=True)
class Complaint:
    id: int
    created_at: datetime
    author: str | None
    language: str | None
    text: str
    url: str | None
    negativity: float


@dataclass(slots=True)
class OpenIncident:
    id: int
    centroid: np.ndarray
    size: int
    first_seen: datetime
    new: list[int] = field(default_factory=list)
    new_vectors: list[np.ndarray] = field(default_factory=list)

    def grown_centroid(self) -> np.ndarray:
        """The centroid moved by the new members, so the incident follows every wording of its
        cause (its first members may all share one)."""
        total = self.centroid * max(self.size, 1) + np.sum(self.new_vectors, axis=0)
        return _unit(total)


def _complaints(
    conn: Connection, brand: str, start: datetime, end: datetime, limit: int
) -> list[Complaint]:
    """The brand's complaints (or negative mentions: the complaint flag misses some) published
    in [start, end), the most recent ``limit`` of them."""
    query = (
        select(Mention.id, Mention.created_at, Mention.author, Mention.language, Mention.text,
               Mention.url, Sentiment.label, Sentiment.score)
        .join(Sentiment, Sentiment.mention_id == Mention.id)
        .where(Mention.brand == brand, Mention.created_at >= start, Mention.created_at < end,
               or_(Sentiment.is_complaint.is_(True), Sentiment.label == "negative"))
        .order_by(Mention.created_at.desc())
        .limit(limit)
    )
    return [
        Complaint(r.id, r.created_at, r.author, r.language, r.text, r.url,
                  r.score if r.label == "negative" else 0.0)
        for r in conn.execute(query)
    ]


def _embed(complaints: list[Complaint], cache: EmbeddingCache) -> np.ndarray:
    return cache.embed([c.text for c in complaints])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def cluster(vectors: np.ndarray, similarity: float) -> np.ndarray:
    """Cluster labels: average-linkage groups whose mean cosine similarity is ``similarity``+."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - similarity
    )
    return model.fit(vectors).labels_


def top_terms(members: list[str], others: list[str], stop: set[str]) -> dict[str, float]:
    """Words frequent in the incident and rare in the other complaints (a KL-style score)."""
    def docs(texts: list[str]) -> Counter[str]:
        return Counter(w for t in texts for w in {w.casefold() for w in _WORD.findall(t)} - stop)

    inside, outside = docs(members), docs(others)
    n_in, n_out = max(len(members), 1), max(len(others), 1)
    scores = {}
    for word, df in inside.items():
        p_in, p_out = df / n_in, (outside[word] + 0.5) / (n_out + 1)
        if p_in >= 0.2 and p_in > p_out:
            scores[word] = round(p_in * math.log(p_in / p_out), 3)
    return dict(sorted(scores.items(), key=lambda kv: -kv[1])[:TOP_TERMS])


_FUNCTION_WORDS = (
    # en, fr, nl, de, es, it, pt: words that name no cause, whatever the incident.
    """the and for that this with you your are was not but have has had what why who how
    all any can out our just from they them their there been will would again still only
    les des une que qui pour pas est avec mais sur dans mon mes par plus quoi même chez ses
    quand alors encore toujours tout très cette ces son aux elle nous vous ils sont
    het een van dat die niet met voor maar zijn ook wat bij nog als dit wel naar heb hebben
    der die das und nicht mit von ist ich ein eine auf für auch noch wie was sich
    los las del que por con una para pero como más muy esta este
    che non per con una sono della come anche più questo
    não uma com para mas por como mais isso esse"""
)
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def _stop_words(brand: Brand) -> set[str]:
    """Function words, and the brand's own name and handles: they say nothing about the cause."""
    names = [brand.name, *brand.keywords, *brand.handles]
    return set(FUNCTION_WORDS) | {w.casefold() for n in names for w in _WORD.findall(n)}


@dataclass(frozen=True, slots=True)
class Burst:
    """A cluster far above its usual rate."""

    members: list[Complaint]
    vectors: np.ndarray
    centroid: np.ndarray
    expected: float
    p_value: float


def _burst(
    members: list[Complaint],
    vectors: np.ndarray,
    past: np.ndarray,
    past_span: timedelta,
    brand: Brand,
) -> Burst | None:
    """The cluster as a burst, or None when it is small, few people, or usual for its meaning."""
    rule = brand.alerts.incidents
    if len(members) < rule.min_size or len({c.author for c in members}) < rule.min_authors:
        return None
    centroid = _unit(vectors.mean(axis=0))
    usual = int(np.sum(past @ centroid >= rule.similarity + MEMBER_MARGIN)) if len(past) else 0
    window = timedelta(minutes=rule.window_minutes)
    expected = max(usual * (window / past_span), MIN_EXPECTED)
    p = float(poisson.sf(len(members) - 1, expected))
    if p >= ALPHA[rule.sensitivity]:
        return None
    return Burst(members, vectors, centroid, expected, p)


def _open_incidents(conn: Connection, brand: str) -> list[OpenIncident]:
    query = select(Incident.id, Incident.centroid, Incident.size, Incident.first_seen).where(
        Incident.brand == brand, Incident.status == "open"
    )
    return [
        OpenIncident(r.id, np.asarray(r.centroid["vector"], dtype=np.float32), r.size,
                     r.first_seen)
        for r in conn.execute(query)
        if r.centroid and r.centroid.get("vector")
    ]


def _attach(
    incidents: list[OpenIncident], complaints: list[Complaint], vectors: np.ndarray, member: float
) -> np.ndarray:
    """Give each complaint to the open incident it resembles most; returns who is left over."""
    if not incidents or not len(complaints):
        return np.ones(len(complaints), dtype=bool)
    sims = vectors @ np.stack([i.centroid for i in incidents]).T
    best = sims.argmax(axis=1)
    joined = sims[np.arange(len(complaints)), best] >= member
    for row in np.flatnonzero(joined):
        incidents[best[row]].new.append(complaints[row].id)
        incidents[best[row]].new_vectors.append(vectors[row])
    return ~joined


def _members(conn: Connection, mention_ids: list[int]) -> set[int]:
    """Which of these mentions already belong to an incident."""
    found: set[int] = set()
    for start in range(0, len(mention_ids), 1000):
        chunk = mention_ids[start : start + 1000]
        query = select(IncidentMention.mention_id).where(IncidentMention.mention_id.in_(chunk))
        found.update(conn.execute(query).scalars())
    return found


def _add_members(conn: Connection, incident_id: int, mention_ids: list[int]) -> None:
    if not mention_ids:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(IncidentMention.__table__).on_conflict_do_nothing()
    conn.execute(stmt, [{"incident_id": incident_id, "mention_id": m} for m in mention_ids])


@dataclass(frozen=True, slots=True)
class Stats:
    """An incident's figures, recomputed from its members."""

    size: int
    authors: int
    languages: dict[str, int]
    first_seen: datetime
    last_seen: datetime
    answered_at: datetime | None
    negativity: float
    max_predicted: float


def _stats(conn: Connection, incident_id: int) -> Stats:
    members = select(IncidentMention.mention_id).where(IncidentMention.incident_id == incident_id)
    row = conn.execute(
        select(func.count(), func.count(func.distinct(Mention.author)),
               func.min(Mention.created_at), func.max(Mention.created_at))
        .where(Mention.id.in_(members))
    ).one()
    languages = dict(conn.execute(
        select(Mention.language, func.count())
        .where(Mention.id.in_(members)).group_by(Mention.language)
    ).all())
    answered = conn.execute(
        select(func.min(Response.answered_at)).where(Response.mention_id.in_(members))
    ).scalar()
    negativity = conn.execute(
        select(func.avg(Sentiment.score)).where(
            Sentiment.mention_id.in_(members), Sentiment.label == "negative"
        )
    ).scalar()
    predicted = conn.execute(
        select(func.max(Forecast.final)).where(Forecast.mention_id.in_(members))
    ).scalar()
    return Stats(row[0], row[1], {k or "?": int(v) for k, v in languages.items()}, row[2], row[3],
                 answered, float(negativity or 0.0), float(predicted or 0.0))


def _risk(stats: Stats, burst_ratio: float, brand: Brand, now: datetime) -> Risk:
    unanswered = None if stats.answered_at else (now - stats.first_seen).total_seconds()
    return incident_risk(
        IncidentSignals(stats.authors, burst_ratio, stats.max_predicted, stats.negativity,
                        unanswered),
        brand.alerts,
    )


def _title(brand: Brand, terms: dict[str, float], stats: Stats) -> str:
    words = ", ".join(list(terms)[:4]) or "one cause"
    return f"{stats.authors:,} people complain about {brand.name}: {words}"


def _examples(members: list[Complaint], vectors: np.ndarray, centroid: np.ndarray) -> list[dict]:
    """The most typical complaint first, then one per other language when there is one."""
    order = np.argsort(-(vectors @ centroid))
    picked: list[Complaint] = []
    for i in order:
        c = members[int(i)]
        if not picked or c.language not in {p.language for p in picked}:
            picked.append(c)
        if len(picked) == 3:
            break
    return [{"text": c.text, "author": c.author, "url": c.url, "language": c.language}
            for c in picked]


def _create(conn: Connection, brand: Brand, burst: Burst, others: list[str], now: datetime) -> int:
    terms = top_terms([c.text for c in burst.members], others, _stop_words(brand))
    representative = burst.members[int(np.argmax(burst.vectors @ burst.centroid))]
    incident_id = conn.execute(
        Incident.__table__.insert().returning(Incident.id),
        {
            "brand": brand.name, "title": "", "terms": terms, "representative_id":
            representative.id, "centroid": {"vector": [round(float(v), 5) for v in burst.centroid],
                                            "expected": burst.expected},
            "status": "open", "size": 0, "authors": 0, "languages": {}, "risk": 0.0,
            "reasons": {}, "first_seen": now, "last_seen": now,
        },
    ).scalar_one()
    _add_members(conn, incident_id, [c.id for c in burst.members])
    return incident_id


def _refresh(
    conn: Connection, brand: Brand, incident_id: int, now: datetime, examples: list[dict] | None
) -> dict[str, Any]:
    """Recompute the incident's figures and risk, store them, and return its alert details."""
    stats = _stats(conn, incident_id)
    row = conn.execute(select(Incident.terms, Incident.centroid, Incident.representative_id,
                              Incident.title).where(Incident.id == incident_id)).one()
    window = timedelta(minutes=brand.alerts.incidents.window_minutes)
    recent = conn.execute(
        select(func.count()).select_from(IncidentMention)
        .join(Mention, Mention.id == IncidentMention.mention_id)
        .where(IncidentMention.incident_id == incident_id, Mention.created_at >= now - window)
    ).scalar_one()
    expected = float((row.centroid or {}).get("expected", MIN_EXPECTED))
    risk = _risk(stats, recent / max(expected, MIN_EXPECTED), brand, now)
    title = _title(brand, row.terms or {}, stats)
    conn.execute(update(Incident).where(Incident.id == incident_id).values(
        title=title, size=stats.size, authors=stats.authors, languages=stats.languages,
        first_seen=stats.first_seen, last_seen=stats.last_seen, answered_at=stats.answered_at,
        risk=risk.score, reasons=risk.reasons,
    ))
    details: dict[str, Any] = {
        "incident_id": incident_id, "title": title, "similar_count": stats.size,
        "people": stats.authors, "languages": stats.languages, "top_terms": list(row.terms or {}),
        "risk": risk.score, "risk_reasons": risk.reason_lines(),
        "recent_count": int(recent), "usual_count": round(expected, 2),
    }
    if examples:
        details["examples"] = examples
        details["language"] = examples[0].get("language")
    return details | {"severity": severity(risk.score, brand.alerts)}


def _alert(conn: Connection, brand: Brand, details: dict[str, Any], now: datetime) -> bool:
    level = details.pop("severity")
    return raise_alert(
        conn,
        kind="incident",
        dedup_key=f"incident:{details['incident_id']}",
        brand=brand.name,
        title=details["title"],
        details=details,
        now=now,
        severity=level,
        metric=float(details["similar_count"]),
        escalation_factor=brand.alerts.escalation_factor,
    )


def _close_quiet(conn: Connection, brand: Brand, now: datetime) -> None:
    quiet = now - timedelta(hours=brand.alerts.incidents.close_after_hours)
    conn.execute(update(Incident).where(
        Incident.brand == brand.name, Incident.status == "open", Incident.last_seen < quiet
    ).values(status="closed"))


def _history_start(conn: Connection, brand: str) -> datetime | None:
    return conn.execute(select(func.min(Mention.created_at)).where(Mention.brand == brand)).scalar()


def _examples_of(members: list[Complaint], vectors: np.ndarray, ids: set[int],
                 centroid: np.ndarray) -> list[dict]:
    keep = [i for i, c in enumerate(members) if c.id in ids]
    if not keep:
        return []
    return _examples([members[i] for i in keep], vectors[keep], centroid)


def detect_incidents(
    engine: Engine, brand: Brand, now: datetime, cache: EmbeddingCache = CACHE
) -> int:
    """One cycle for one brand: grow open incidents, open new ones, alert; returns alerts queued."""
    rule = brand.alerts.incidents
    window_start = now - timedelta(minutes=rule.window_minutes)
    with engine.connect() as conn:
        first = _history_start(conn, brand.name)
        recent = _complaints(conn, brand.name, window_start, now, MAX_WINDOW)
        past = _complaints(conn, brand.name, window_start - timedelta(hours=rule.baseline_hours),
                           window_start, MAX_BASELINE)
        incidents = _open_incidents(conn, brand.name)
        known = _members(conn, [c.id for c in recent])
    recent = [c for c in recent if c.id not in known]
    if first is None or not recent:
        return 0
    vectors = _embed(recent, cache)
    left = _attach(incidents, recent, vectors, rule.similarity + MEMBER_MARGIN)
    bursts = _new_bursts(recent, vectors, left, past, first, window_start, brand, cache)
    return _store(engine, brand, incidents, bursts, recent, vectors, past, now)


def _new_bursts(
    recent: list[Complaint], vectors: np.ndarray, left: np.ndarray, past: list[Complaint],
    first: datetime, window_start: datetime, brand: Brand, cache: EmbeddingCache,
) -> list[Burst]:
    """Bursts among the complaints no open incident took (none before an hour of history)."""
    rule = brand.alerts.incidents
    span_start = max(first, window_start - timedelta(hours=rule.baseline_hours))
    if past:
        span_start = max(span_start, min(c.created_at for c in past))
    span = window_start - span_start
    if span < timedelta(minutes=rule.window_minutes) or left.sum() < rule.min_size:
        return []
    rest = [c for c, keep in zip(recent, left, strict=True) if keep]
    rest_vectors = vectors[left]
    past_vectors = _embed(past, cache) if past else np.zeros((0, vectors.shape[1]))
    labels = cluster(rest_vectors, rule.similarity)
    bursts = []
    for label in np.unique(labels):
        chosen = labels == label
        members = [c for c, keep in zip(rest, chosen, strict=True) if keep]
        burst = _burst(members, rest_vectors[chosen], past_vectors, span, brand)
        if burst is not None:
            bursts.append(burst)
    return bursts


def _store(
    engine: Engine, brand: Brand, incidents: list[OpenIncident], bursts: list[Burst],
    recent: list[Complaint], vectors: np.ndarray, past: list[Complaint], now: datetime,
) -> int:
    queued = 0
    member = brand.alerts.incidents.similarity + MEMBER_MARGIN
    with engine.begin() as conn:
        for burst in bursts:
            merged = _merge(incidents, burst, member)
            if merged is None:
                member_ids = {c.id for c in burst.members}
                others = [c.text for c in past + recent if c.id not in member_ids]
                incident_id = _create(conn, brand, burst, others, now)
                incidents.append(OpenIncident(incident_id, burst.centroid, len(burst.members), now))
                examples = _examples(burst.members, burst.vectors, burst.centroid)
                details = _refresh(conn, brand, incident_id, now, examples)
                queued += _alert(conn, brand, details, now)
        for incident in incidents:
            if incident.new:
                _grow(conn, incident)
                examples = _examples_of(recent, vectors, set(incident.new), incident.centroid)
                details = _refresh(conn, brand, incident.id, now, examples)
                queued += _alert(conn, brand, details, now)
        _close_quiet(conn, brand, now)
    return queued


def _merge(incidents: list[OpenIncident], burst: Burst, member: float) -> OpenIncident | None:
    """The open incident a new burst is another wording of, which then takes its members."""
    if not incidents:
        return None
    best = max(incidents, key=lambda i: float(i.centroid @ burst.centroid))
    if float(best.centroid @ burst.centroid) < member:
        return None
    best.new += [c.id for c in burst.members]
    best.new_vectors += list(burst.vectors)
    return best


def _grow(conn: Connection, incident: OpenIncident) -> None:
    """Store the new members and the centroid they moved."""
    _add_members(conn, incident.id, incident.new)
    centroid = incident.grown_centroid()
    row = conn.execute(select(Incident.centroid).where(Incident.id == incident.id)).scalar_one()
    conn.execute(update(Incident).where(Incident.id == incident.id).values(
        centroid=(row or {}) | {"vector": [round(float(v), 5) for v in centroid]}
    ))
