"""Root causes of complaints: TF-IDF, k-means, then clusters merged by resemblance, each named by
its heaviest terms.

Cheap, deterministic and explainable, which suits a weekly report: marketing reads the terms, not
an embedding. k-means deliberately over-splits (one cluster per phrasing); clusters whose centroids
share vocabulary are then merged, so one cause written several ways counts once. The previous
week's complaints are assigned to this week's topics to give each its trend.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.sparse import spmatrix
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from stop_words import LANGUAGE_MAPPING, get_stop_words

MAX_TOPICS = 6
MAX_CLUSTERS = 12
MERGE_DISTANCE = 0.8
NAME_TERMS = 3
SAMPLE = 1500
MIN_SIMILARITY = 0.2
_NOISE = re.compile(r"(?:https?://|www\.)\S+|(?<![\w@])@\w+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True, slots=True)
class Document:
    id: int
    text: str
    language: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Topic:
    """A cluster of this week's complaints, how many of last week's resemble it, an example."""

    terms: tuple[str, ...]
    count: int
    previous: int
    example: Document

    @property
    def name(self) -> str:
        return " · ".join(self.terms)


@cache
def _stop_words(language: str) -> frozenset[str]:
    name = LANGUAGE_MAPPING.get(language)
    return frozenset(w.casefold() for w in get_stop_words(name)) if name else frozenset()


def _analyzer(stop: frozenset[str]) -> Callable[[str], list[str]]:
    def words(body: str) -> list[str]:
        return [w for w in _WORD.findall(_NOISE.sub(" ", body).casefold()) if w not in stop]

    return words


def _centroids(matrix: spmatrix, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels renumbered 0..n-1 (empty clusters dropped) and the unit centroid of each."""
    groups, labels = np.unique(labels, return_inverse=True)
    rows = [np.asarray(matrix[labels == g].mean(axis=0)).ravel() for g in range(len(groups))]
    return labels, _unit(np.vstack(rows))


def _clusters(matrix: spmatrix) -> tuple[np.ndarray, np.ndarray]:
    """Labels per document and unit centroids after merging similar k-means clusters."""
    distinct = len({row.indices.tobytes() for row in matrix[:SAMPLE]})
    k = max(1, min(MAX_CLUSTERS, distinct))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means warns when fewer distinct points than k
        labels = KMeans(k, n_init=2, random_state=0).fit_predict(matrix)
    labels, centroids = _centroids(matrix, labels)
    if len(centroids) < 2:
        return labels, centroids
    merge = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=MERGE_DISTANCE
    ).fit_predict(centroids)
    return _centroids(matrix, merge[labels])


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1, norms)


def _name(centroid: np.ndarray, vocabulary: np.ndarray) -> tuple[str, ...]:
    order = np.argsort(-centroid, kind="stable")[:NAME_TERMS]
    return tuple(str(vocabulary[i]) for i in order if centroid[i] > 0)


def find_topics(
    current: list[Document], previous: list[Document], exclude: Iterable[str]
) -> tuple[list[Topic], int]:
    """The largest complaint topics of the week, and how many complaints fell outside them."""
    if not current:
        return [], 0
    languages = {d.language for d in current if d.language} | {"en"}
    stop = frozenset(exclude).union(*(_stop_words(lang) for lang in languages))
    vectorizer = TfidfVectorizer(analyzer=_analyzer(stop), sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([d.text for d in current])
    except ValueError:  # nothing but stop words and handles
        return [], len(current)
    labels, unit = _clusters(matrix)
    earlier = np.zeros(len(unit), dtype=int)
    if previous:
        sims = np.asarray(vectorizer.transform([d.text for d in previous]) @ unit.T)
        for cluster, sim in zip(sims.argmax(axis=1), sims.max(axis=1), strict=True):
            if sim >= MIN_SIMILARITY:
                earlier[cluster] += 1
    closeness = np.asarray(matrix @ unit.T)
    vocabulary = vectorizer.get_feature_names_out()
    topics = []
    for cluster in range(len(unit)):
        members = np.flatnonzero(labels == cluster)
        example = members[np.argmax(closeness[members, cluster])]
        terms = _name(unit[cluster], vocabulary)
        topics.append(Topic(terms, len(members), int(earlier[cluster]), current[example]))
    topics.sort(key=lambda t: (-t.count, t.terms))
    shown = topics[:MAX_TOPICS]
    return shown, len(current) - sum(t.count for t in shown)
