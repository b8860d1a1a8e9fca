"""Embeddings of recent complaints, by text, with the bundled multilingual encoder.

The same complaint in French, Dutch or English lands close, which is what lets one incident hold
every language of its cause.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import numpy as np


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

        keys = [_key(t) for t in texts]
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


@lru_cache(maxsize=100_000)
def _key(text: str) -> str:
    """The encoder's normalised text, remembered: a cycle looks up a day of complaints."""
    from models.sentiment.text import normalize

    return normalize(text)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
