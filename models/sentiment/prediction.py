"""The result type every sentiment model returns, whatever backs it, and how it is made."""

from dataclasses import dataclass

import numpy as np

from models import complaints
from models.sentiment.language import detect

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Prediction:
    """One scored mention; frozen so stored results cannot drift from what the model said."""

    label: str
    score: float
    language: str
    is_complaint: bool
    complaint_score: float


def predictions(texts: list[str], proba: np.ndarray,
                embeddings: np.ndarray | None = None) -> list[Prediction]:
    """Predictions of normalised texts from their (n, 3) sentiment probabilities: label and its
    probability, language, complaint reading (``embeddings``: their USE vectors, if at hand)."""
    complaint = complaints.scores(texts, proba, embeddings)
    # The handle and link masks of normalisation are English-looking words, not the text's own.
    languages = [detect(t.replace("@user", "").replace("http", "")) for t in texts]
    return [
        Prediction(label=LABELS[int(p.argmax())], score=float(p.max()), language=lang,
                   is_complaint=bool(c >= complaints.COMPLAINT_THRESHOLD),
                   complaint_score=float(c))
        for p, lang, c in zip(proba, languages, complaint, strict=True)
    ]
