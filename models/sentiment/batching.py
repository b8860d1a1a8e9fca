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


def token_batches(lengths: list[int], max_tokens: int) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches of at most max_tokens tokens (one text more
    when a single text is longer). A token budget instead of a fixed count keeps each batch's
    activations cache-sized whatever the text lengths."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, start, total = [], 0, 0
    for pos, i in enumerate(order):
        if pos > start and total + lengths[i] > max_tokens:
            batches.append(order[start:pos])
            start, total = pos, 0
        total += lengths[i]
    if start < len(order):
        batches.append(order[start:])
    return batches
