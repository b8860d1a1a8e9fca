"""Root causes of complaints: TF-IDF, k-means, then clusters merged by resemblance, each named by
its heaviest terms.

Cheap, deterministic and explainable, which suits a weekly report: marketing reads the terms, not
an embedding. k-means deliberately over-splits (one cluster per phrasing); clusters whose centroids
share vocabulary are then merged, so one cause written several ways counts once. The previous
week's complaints are assigned to this week's topics to give each its trend. Terms are those of
the one term engine (:mod:`monitor.terms`), as in incident titles and the dashboard's topics.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import spmatrix
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.feature_extraction.text import TfidfVectorizer

from monitor import terms

MAX_TOPICS = 6
MAX_CLUSTERS = 12
MERGE_DISTANCE = 0.8
NAME_TERMS = 3
SAMPLE = 1500
MIN_SIMILARITY = 0.2


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


def _analyzer(
    exclude: frozenset[str], vocabulary: terms.Vocabulary
) -> Callable[[Document], list[str]]:
    """A document's term keys (:mod:`monitor.terms`: content words of its language, one key
    for "app" and "appli"), the names in ``exclude`` left out."""
    def keys(doc: Document) -> list[str]:
        found = [vocabulary.add(w) for w in terms.words(doc.text, doc.language, exclude)]
        return [vocabulary.canonical(k) for k in found]

    return keys


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


def _name(centroid: np.ndarray, keys: np.ndarray, vocabulary: terms.Vocabulary
          ) -> tuple[str, ...]:
    order = np.argsort(-centroid, kind="stable")[:NAME_TERMS]
    return tuple(vocabulary.display(str(keys[i]), 1) for i in order if centroid[i] > 0)


def find_topics(
    current: list[Document], previous: list[Document], exclude: Iterable[str]
) -> tuple[list[Topic], int]:
    """The largest complaint topics of the week, and how many complaints fell outside them."""
    if not current:
        return [], 0
    words = terms.Vocabulary()
    vectorizer = TfidfVectorizer(analyzer=_analyzer(terms.names(exclude), words),
                                 sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(current)
    except ValueError:  # nothing but stop words and handles
        return [], len(current)
    labels, unit = _clusters(matrix)
    earlier = np.zeros(len(unit), dtype=int)
    if previous:
        sims = np.asarray(vectorizer.transform(previous) @ unit.T)
        for cluster, sim in zip(sims.argmax(axis=1), sims.max(axis=1), strict=True):
            if sim >= MIN_SIMILARITY:
                earlier[cluster] += 1
    closeness = np.asarray(matrix @ unit.T)
    vocabulary = vectorizer.get_feature_names_out()
    topics = []
    for cluster in range(len(unit)):
        members = np.flatnonzero(labels == cluster)
        example = members[np.argmax(closeness[members, cluster])]
        named = _name(unit[cluster], vocabulary, words)
        topics.append(Topic(named, len(members), int(earlier[cluster]), current[example]))
    topics.sort(key=lambda t: (-t.count, t.terms))
    shown = topics[:MAX_TOPICS]
    return shown, len(current) - sum(t.count for t in shown)
