"""Saying what an incident is: its themes, its languages and its most typical complaints.

Titles come from the themes that characterise the incident against the brand's other
complaints (:func:`monitor.terms.characteristic`: content words only, one theme across
languages), so "amende / boete · abonnement" names it, never a filler word. The language is the
incident's majority language, and the shares of every language go with the alert so that the
composer can offer a statement in each language that matters.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monitor import terms
from monitor.config import Brand
from monitor.detection.embeddings import EmbeddingCache
from monitor.detection.grouping import Complaint

TITLE_THEMES = 3
EXAMPLES = 5


def themes(brand: Brand, members: Sequence[tuple[str, str | None]],
           background: Sequence[tuple[str, str | None]],
           cache: EmbeddingCache) -> list[terms.Theme]:
    """The incident's themes against the background, the brand's own names left out."""
    return terms.characteristic(
        [t for t, _ in members], [lang for _, lang in members],
        [t for t, _ in background], [lang for _, lang in background],
        [brand.name, *brand.keywords, *brand.handles], cache.embed,
    )


def title(brand: Brand, found: list[terms.Theme], people: int) -> str:
    named = " · ".join(t.name for t in found[:TITLE_THEMES]) or "one cause"
    return f"{people:,} people complain about {brand.name}: {named}"


def language_shares(counts: dict[str, int]) -> dict[str, float]:
    """Each language's share of the incident, largest first ("?" when unknown)."""
    total = sum(counts.values()) or 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {lang: round(n / total, 3) for lang, n in ordered}


def majority(shares: dict[str, float]) -> str | None:
    """The language most of the incident is written in (an unknown one never wins)."""
    return next((lang for lang in shares if lang != "?"), None)


def examples(members: list[Complaint], vectors: np.ndarray, centroid: np.ndarray) -> list[dict]:
    """Up to ``EXAMPLES`` complaints: the most typical first, one per other language next, then
    the next most typical."""
    order = [int(i) for i in np.argsort(-(vectors @ centroid))]
    picked: list[int] = []
    for i in order:
        if not picked or members[i].language not in {members[p].language for p in picked}:
            picked.append(i)
    picked += [i for i in order if i not in picked]
    return [{"text": c.text, "author": c.author, "url": c.url, "language": c.language,
             "source": c.source, "rating": c.rating}
            for c in (members[i] for i in picked[:EXAMPLES])]
