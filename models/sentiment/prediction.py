"""The result type every sentiment model returns, whatever backs it."""

from dataclasses import dataclass

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Prediction:
    """One scored mention; frozen so stored results cannot drift from what the model said."""

    label: str
    score: float
    language: str
    is_complaint: bool
    complaint_score: float
