"""Helpers that cut inference cost on real streams: duplicates and retweets, mixed lengths."""

import numpy as np


def unique(texts: list[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts and, for each input, the index of its distinct text.

    Streams repeat themselves (retweets, copy-paste campaigns): each text is scored once.
    """
    index: dict[str, int] = {}
    inverse = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64,
                          count=len(texts))
    return list(index), inverse


def length_batches(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Indices grouped into batches of similar length, so padding wastes little compute."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
