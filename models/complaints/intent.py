"""The learned intent heads: other / complaint / question, one multinomial logistic regression per
tier ("fast": USE embedding + cues, "full": USE + e5 + cues), and per tier a rating layer that
reads the complaint logit with the stars. numpy only at prediction; weights in
models/artifacts/sentiment/intent_*.npz (a few KB each).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from models.complaints import addressed, complaint_scores, damped
from models.sentiment.heads import LinearHead, softmax
from models.sentiment.ratings import RatingLayer

INTENTS: tuple[str, ...] = ("other", "complaint", "question")
OTHER, COMPLAINT, QUESTION = range(3)
TIERS: tuple[str, ...] = ("fast", "full")
HEAD_ID = "intent-lr-4"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"
# "?" in Latin, Spanish-opening and full-width forms; masked links read "http" after it.
_ASKS = re.compile(r"[?¿？]")
_ENDS_ASKING = re.compile(r"[?？]\W*(?:(?:http|@user)\W*)*$")


def cues(texts: Sequence[str]) -> np.ndarray:
    """(n, 3) surface cues of normalised texts: addresses a handle, asks, ends asking."""
    asks = [bool(_ASKS.search(t)) for t in texts]
    ends = [bool(_ENDS_ASKING.search(t)) for t in texts]
    return np.column_stack([addressed(texts), np.array(asks, np.float32),
                            np.array(ends, np.float32)]).astype(np.float32)


def features(texts: Sequence[str], use: np.ndarray, e5: np.ndarray | None = None) -> np.ndarray:
    """Head inputs of one tier: embeddings (USE, then e5 for the full tier), then the cues."""
    parts = [use.astype(np.float32)] + ([] if e5 is None else [e5.astype(np.float32)])
    return np.hstack([*parts, cues(texts)])


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class IntentModel:
    heads: dict[str, LinearHead]
    ratings: dict[str, RatingLayer]

    def scores(self, texts: Sequence[str], use: np.ndarray, positive: np.ndarray,
               e5: np.ndarray | None = None,
               ratings: Sequence[object] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(complaint, question) scores of normalised texts. The complaint probability goes
        through the rating layer where a row has stars, then is damped by p(positive)."""
        tier = "fast" if e5 is None else "full"
        p = softmax(self.heads[tier].logits(features(texts, use, e5)))
        z = self.ratings[tier].apply(logit(p[:, COMPLAINT])[:, None], ratings)[:, 0]
        complaint = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        return damped(complaint, positive), p[:, QUESTION].astype(np.float32)

    @property
    def has_full(self) -> bool:
        return "full" in self.heads

    def save(self, directory: Path = ARTIFACTS) -> None:
        for tier in self.heads:
            self.heads[tier].save(directory / f"intent_{tier}.npz")
            self.ratings[tier].save(directory / f"complaint_ratings_{tier}.npz")

    @classmethod
    def load(cls, directory: Path = ARTIFACTS) -> IntentModel:
        tiers = [t for t in TIERS if (directory / f"intent_{t}.npz").is_file()]
        return cls({t: LinearHead.load(directory / f"intent_{t}.npz") for t in tiers},
                   {t: RatingLayer.load(directory / f"complaint_ratings_{t}.npz") for t in tiers})


@lru_cache(maxsize=1)
def load_intent() -> IntentModel | None:
    """The shipped heads, or None when their weights are absent (then the rule applies)."""
    if not (ARTIFACTS / "intent_fast.npz").is_file():
        return None
    return IntentModel.load(ARTIFACTS)


def model_suffix() -> str:
    """What a sentiment model's id gains when the learned heads read intents, so readings made
    under the rule count as another model's and get rescored."""
    return f"+{HEAD_ID}" if load_intent() is not None else ""


def intent_scores(texts: Sequence[str], proba: np.ndarray, use: np.ndarray | None = None,
                  e5: np.ndarray | None = None,
                  ratings: Sequence[object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(complaint, question) scores of normalised texts whose sentiment probabilities are
    ``proba``, whatever model gave them: the learned heads when their weights ship (on USE
    embeddings computed here unless given), else the rule and no questions."""
    model = load_intent()
    if model is None:
        return (complaint_scores(texts, proba[:, 0]).astype(np.float32),
                np.zeros(len(texts), np.float32))
    if use is None:
        from models.sentiment.encoders import use_embed

        use = use_embed(list(texts))
    return model.scores(texts, use, proba[:, 2], e5, ratings)
