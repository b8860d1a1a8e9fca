"""Map a foreign model's label names (id2label) onto negative / neutral / positive."""

import re

import numpy as np

from models.sentiment.prediction import LABELS

_SYNONYMS: dict[str, str] = {
    "negative": "negative", "neg": "negative", "bad": "negative",
    "neutral": "neutral", "neu": "neutral", "neut": "neutral", "mixed": "neutral",
    "positive": "positive", "pos": "positive", "good": "positive",
}
# Generic names follow the convention of the common sentiment checkpoints (cardiffnlp, SST-2).
_GENERIC_ORDER: dict[int, tuple[str, ...]] = {
    2: ("negative", "positive"),
    3: ("negative", "neutral", "positive"),
}
_STARS = re.compile(r"^([1-5])\s*stars?$")


def _canonical(name: str, index: int, n_labels: int) -> str:
    """Canonical label of one class; raises ValueError for names it cannot interpret."""
    key = name.strip().lower()
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    stars = _STARS.match(key)
    if stars:
        return ("negative", "negative", "neutral", "positive", "positive")[int(stars[1]) - 1]
    generic = re.fullmatch(r"label_?(\d+)", key)
    if generic and n_labels in _GENERIC_ORDER and int(generic[1]) == index:
        return _GENERIC_ORDER[n_labels][index]
    raise ValueError(f"cannot map label {name!r} to negative/neutral/positive")


def label_matrix(id2label: dict[int, str]) -> np.ndarray:
    """(n_labels, 3) 0/1 matrix: model probabilities @ matrix = probabilities in LABELS order.

    Summing lets 5-star models and 2-class models share the 3-way output.
    """
    n = len(id2label)
    matrix = np.zeros((n, len(LABELS)), dtype=np.float32)
    for index in range(n):
        matrix[index, LABELS.index(_canonical(str(id2label[index]), index, n))] = 1.0
    return matrix
