"""Grouping complaints by meaning, and deciding which group is a burst against its own past.

A window's complaints are first given to the open incident they resemble, the rest clustered
(average-linkage, cosine, multilingual embeddings). Short complaints in several languages
("storing", "panne", "can't log in") resemble each other less than long ones, so when the
brand's complaints are themselves far above their usual rate in a window (a burst in time),
that window is clustered at the lower ``burst_similarity``: complaints that arrive together
against the stream's habit most likely share a cause. A cluster becomes an incident when its
count is improbable under how often complaints of that meaning came before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy.stats import poisson
from sklearn.cluster import AgglomerativeClustering

from monitor.config import IncidentRule
from monitor.detection.embeddings import unit

MEMBER_MARGIN = 0.15
"""A complaint joins a meaning when its similarity to the centroid reaches the clustering
similarity plus this: a centroid averages its members' noise away, so similarities to it are
higher than between two members."""
MIN_EXPECTED = 0.5
"""Floor of the expected count per window: a meaning never seen before is not infinitely rare."""


@dataclass(slots=True)
class Complaint:
    id: int
    created_at: datetime
    author: str | None
    language: str | None
    text: str
    url: str | None
    negativity: float
    source: str = ""
    rating: float | None = None


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
        return unit(total)


@dataclass(frozen=True, slots=True)
class Scope:
    """A window to cluster, and how alike its complaints must be."""

    window: timedelta
    similarity: float
    bursting: bool  # the brand's complaints are far above their usual rate in this window


@dataclass(frozen=True, slots=True)
class Burst:
    """A cluster far above its usual rate."""

    members: list[Complaint]
    vectors: np.ndarray
    centroid: np.ndarray
    expected: float
    p_value: float
    scope: Scope


def cluster(vectors: np.ndarray, similarity: float) -> np.ndarray:
    """Cluster labels: average-linkage groups whose mean cosine similarity is ``similarity``+."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=1.0 - similarity
    )
    return model.fit(vectors).labels_


def attach(
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


def merge(incidents: list[OpenIncident], burst: Burst, member: float) -> OpenIncident | None:
    """The open incident a new burst is another wording of, which then takes its members."""
    if not incidents:
        return None
    best = max(incidents, key=lambda i: float(i.centroid @ burst.centroid))
    if float(best.centroid @ burst.centroid) < member:
        return None
    best.new += [c.id for c in burst.members]
    best.new_vectors += list(burst.vectors)
    return best


@dataclass(frozen=True, slots=True)
class Past:
    """The complaints before the window, as the usual rate of each meaning is counted from."""

    times: np.ndarray  # epoch seconds, ascending
    vectors: np.ndarray
    first: datetime  # the brand's first mention, or the oldest complaint read: history starts there


def _burst(members: list[Complaint], vectors: np.ndarray, past: Past, now: datetime,
           scope: Scope, rule: IncidentRule, alpha: float) -> Burst | None:
    """The cluster as a burst, or None when it is small, few people, or usual for its meaning."""
    if len(members) < rule.min_size or len({c.author for c in members}) < rule.min_authors:
        return None
    start = now - scope.window
    span_start = max(past.first, start - timedelta(hours=rule.baseline_hours))
    if start - span_start < min(scope.window, timedelta(minutes=rule.window_minutes)):
        return None  # too little history to know what is usual
    centroid = unit(vectors.mean(axis=0))
    lo, hi = np.searchsorted(past.times, [span_start.timestamp(), start.timestamp()])
    similar = past.vectors[lo:hi] @ centroid >= scope.similarity + MEMBER_MARGIN  # a view
    expected = max(int(similar.sum()) * (scope.window / (start - span_start)), MIN_EXPECTED)
    p = float(poisson.sf(len(members) - 1, expected))
    if p >= alpha:
        return None
    return Burst(members, vectors, centroid, expected, p, scope)


def find_bursts(complaints: list[Complaint], vectors: np.ndarray, left: np.ndarray, past: Past,
                now: datetime, scopes: list[Scope], rule: IncidentRule,
                alpha: float) -> list[Burst]:
    """Bursts among the complaints no open incident took, shortest window first; a complaint
    is in one burst at most."""
    left = left.copy()
    times = np.array([c.created_at.timestamp() for c in complaints])
    bursts = []
    for scope in scopes:
        chosen = left & (times >= (now - scope.window).timestamp())
        if chosen.sum() < rule.min_size:
            continue
        rows = np.flatnonzero(chosen)
        labels = cluster(vectors[rows], scope.similarity)
        for label in np.unique(labels):
            picked = rows[labels == label]
            burst = _burst([complaints[i] for i in picked], vectors[picked], past, now, scope,
                           rule, alpha)
            if burst is not None:
                bursts.append(burst)
                left[picked] = False
    return bursts
