"""The result type every sentiment model returns, whatever backs it, and how it is made."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.complaints import COMPLAINT_THRESHOLD, intent_of
from models.sentiment.language import detect

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Prediction:
    """One scored mention; frozen so stored results cannot drift from what the model said.
    ``intent`` is complaint, question (or request) or other."""

    label: str
    score: float
    language: str
    is_complaint: bool
    complaint_score: float
    intent: str = "other"
    question_score: float = 0.0


def predictions(texts: list[str], proba: np.ndarray, complaint: np.ndarray,
                question: np.ndarray) -> list[Prediction]:
    """Predictions of normalised texts from their (n, 3) sentiment probabilities and their
    complaint and question scores."""
    # The handle and link masks of normalisation are English-looking words, not the text's own.
    languages = [detect(t.replace("@user", "").replace("http", "")) for t in texts]
    return [
        Prediction(label=LABELS[int(p.argmax())], score=float(p.max()), language=lang,
                   is_complaint=bool(c >= COMPLAINT_THRESHOLD), complaint_score=float(c),
                   intent=intent_of(float(c), float(q)), question_score=float(q))
        for p, lang, c, q in zip(proba, languages, complaint, question, strict=True)
    ]


def scored(texts: list[str], proba: np.ndarray,
           ratings: Sequence[object] | None = None) -> list[Prediction]:
    """Predictions of normalised texts from sentiment probabilities alone (any model): intents
    from the shipped heads on a USE embedding computed here."""
    from models.complaints.intent import intent_scores  # imports models.sentiment.heads

    complaint, question = intent_scores(texts, proba, ratings=ratings)
    return predictions(texts, proba, complaint, question)
