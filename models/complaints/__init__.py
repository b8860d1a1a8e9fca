"""What a mention asks of the brand: a complaint (a problem to fix), a question or request (needs
an answer, is no incident), or neither.

A complaint is often neutral in tone ("my order still hasn't arrived") and negativity is often no
complaint ("I hate Mondays"). The learned intent heads (`intent.py`, trained by
`python -m models.complaints.train`) read the text's embeddings, a few surface cues and, where
there is one, the star rating. The old rule, negativity addressed to someone, stays as
`complaint_scores`: the fallback when the heads' weights are absent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

COMPLAINT_THRESHOLD = 0.5
QUESTION_THRESHOLD = 0.5
NEGATIVE, POSITIVE = 0, 2  # columns of the sentiment probabilities (models.sentiment.LABELS)
_ADDRESSED = re.compile(r"(?<![\w@])@\w+")


def addressed(texts: Sequence[str]) -> np.ndarray:
    """1.0 where a text addresses a handle, else 0.0."""
    return np.array([bool(_ADDRESSED.search(t)) for t in texts], dtype=np.float32)


def complaint_scores(texts: Sequence[str], negative: np.ndarray) -> np.ndarray:
    """The baseline rule: probability-like score from the negative-sentiment probability, high
    only when the text addresses a handle."""
    return negative * (0.4 + 0.6 * addressed(texts))


def damped(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Complaint scores times 1 - p(positive): praise written to a brand ("support sorted it in
    5 minutes, great service") reads like a support thread's opener, and is no complaint."""
    return (scores * (1 - positive)).astype(np.float32)


def intent_of(complaint: float, question: float) -> str:
    """complaint, question or other: a complaint phrased as a question is a complaint."""
    if complaint >= COMPLAINT_THRESHOLD:
        return "complaint"
    return "question" if question >= QUESTION_THRESHOLD else "other"


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
