"""The default model: the trained ensemble (models/artifacts/sentiment) over PyPI-shipped USE."""

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from models import complaints
from models.sentiment.batching import unique
from models.sentiment.ensemble import Ensemble
from models.sentiment.prediction import LABELS, Prediction, predictions
from models.sentiment.text import normalize

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"
# Normalised texts remembered across calls: retweets and copy-paste campaigns arrive spread over
# many batches. ~0.5 KB each, so the default bounds the cache at ~25 MB.
CACHE_SIZE = 50_000

Scored = tuple[np.ndarray, Prediction]


class BundledModel:
    """USE + n-gram ensemble; its only state is a locked result cache, so it is safe to share
    between threads."""

    def __init__(self, artifacts: Path = ARTIFACTS, cache_size: int = CACHE_SIZE) -> None:
        self.ensemble, model_id = Ensemble.load(artifacts)
        self.model_id = model_id + complaints.model_suffix()
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Scored] = OrderedDict()
        self._lock = threading.Lock()

    def _compute(self, texts: list[str]) -> list[Scored]:
        """Probabilities and predictions of distinct normalised texts, none of them cached."""
        proba, embeddings = self.ensemble.proba_and_embeddings(texts)
        return list(zip(proba, predictions(texts, proba, embeddings), strict=True))

    def _scored(self, distinct: list[str]) -> list[Scored]:
        """Results of distinct normalised texts: cached ones reused, the others computed once."""
        with self._lock:
            known = {t: self._cache[t] for t in distinct if t in self._cache}
            for t in known:
                self._cache.move_to_end(t)
        missing = [t for t in distinct if t not in known]
        if missing:
            fresh = dict(zip(missing, self._compute(missing), strict=True))
            known.update(fresh)
            self._remember(fresh)
        return [known[t] for t in distinct]

    def _remember(self, fresh: dict[str, Scored]) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            self._cache.update(fresh)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n, 3) probabilities in LABELS order; each distinct normalised text is scored once."""
        distinct, inverse = unique([normalize(t) for t in texts])
        if not distinct:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return np.vstack([p for p, _ in self._scored(distinct)])[inverse]

    def predict(self, texts: list[str]) -> list[Prediction]:
        distinct, inverse = unique([normalize(t) for t in texts])
        scored = self._scored(distinct)
        return [scored[i][1] for i in inverse]
