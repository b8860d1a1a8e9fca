"""Complaint detection: a customer reporting a problem to or about a brand.

Baseline: a complaint is negativity addressed to someone (a handle). A trained head replaces it.
"""

import re
from collections.abc import Sequence

import numpy as np

COMPLAINT_THRESHOLD = 0.5
_ADDRESSED = re.compile(r"(?<![\w@])@\w+")


def complaint_scores(texts: Sequence[str], negative: np.ndarray) -> np.ndarray:
    """Probability-like complaint score per text from its negative-sentiment probability."""
    addressed = np.array([bool(_ADDRESSED.search(t)) for t in texts], dtype=np.float32)
    return negative * (0.4 + 0.6 * addressed)


def detect_target(text: str, brands: Sequence[str]) -> str | None:
    """The brand (as given in brands) that text addresses first, or None.

    A brand matches as a handle ("@acme") or as a whole word ("Acme"), case-insensitively.
    """
    best: tuple[int, str] | None = None
    for brand in brands:
        name = brand.lstrip("@")
        if not name:
            continue
        match = re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", text, re.IGNORECASE)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), brand)
    return best[1] if best else None
