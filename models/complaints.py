"""Complaint detection: a customer reporting a problem to or about a brand.

A complaint is often neutral in tone ("my order still hasn't arrived") and negativity is often no
complaint ("I hate Mondays"). The learned head (`ComplaintHead`, trained by
`python -m models.complaints_train`) is a logistic regression over the text's USE embedding and
whether it addresses a handle; it does not read the sentiment probabilities, so retraining the
sentiment model leaves it valid and any sentiment model can use it. The old rule, negativity
addressed to someone, stays as `complaint_scores` (the fallback when the head's weights are
absent).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

COMPLAINT_THRESHOLD = 0.5
NEGATIVE, POSITIVE = 0, 2  # columns of the sentiment probabilities (models.sentiment.LABELS)
HEAD_FILE = "complaint_head.npz"
# Appended to a sentiment model_id when the head scores complaints: stored readings made with the
# baseline rule then count as another model's and get rescored.
HEAD_ID = "complaint-lr-1"
HEAD_PATH = Path(__file__).resolve().parent / "artifacts" / "sentiment" / HEAD_FILE
EMBED_DIM = 512
# Feature layout: the L2-normalised USE embedding, then the addressed flag.
N_FEATURES = EMBED_DIM + 1
_ADDRESSED = re.compile(r"(?<![\w@])@\w+")


def addressed(texts: Sequence[str]) -> np.ndarray:
    """1.0 where a text addresses a handle, else 0.0."""
    return np.array([bool(_ADDRESSED.search(t)) for t in texts], dtype=np.float32)


def complaint_scores(texts: Sequence[str], negative: np.ndarray) -> np.ndarray:
    """The baseline rule: probability-like score from the negative-sentiment probability, high
    only when the text addresses a handle."""
    return negative * (0.4 + 0.6 * addressed(texts))


def features(texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
    """(n, N_FEATURES) head inputs of normalised texts: USE embeddings, addressed flag."""
    return np.hstack([embeddings.astype(np.float32), addressed(texts)[:, None]])


def damped(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Head scores times 1 - p(positive)."""
    return (scores * (1 - positive)).astype(np.float32)


@dataclass(frozen=True)
class ComplaintHead:
    """Binary logistic regression: score = sigmoid(features @ weight + bias)."""

    weight: np.ndarray
    bias: float

    def scores(self, feats: np.ndarray) -> np.ndarray:
        z = feats.astype(np.float32) @ self.weight + np.float32(self.bias)
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)

    def predict(self, texts: Sequence[str], embeddings: np.ndarray,
                positive: np.ndarray) -> np.ndarray:
        """Complaint scores of normalised texts from their USE embeddings, damped by their
        positive-sentiment probability: the head learned "written to a brand", and praise
        written to a brand ("support sorted it in 5 minutes, great service") is no complaint."""
        return damped(self.scores(features(texts, embeddings)), positive)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weight=self.weight.astype(np.float32),
                            bias=np.float32(self.bias))

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> "ComplaintHead":
        with np.load(path) as z:
            return cls(z["weight"].astype(np.float32), float(z["bias"]))


@lru_cache(maxsize=1)
def load_head() -> ComplaintHead | None:
    """The shipped head, or None when its weights are absent (then the baseline rule applies)."""
    return ComplaintHead.load(HEAD_PATH) if HEAD_PATH.is_file() else None


def model_suffix() -> str:
    """What a sentiment model's id gains when the learned head scores its complaints, so readings
    made under the rule count as another model's and get rescored."""
    return f"+{HEAD_ID}" if load_head() is not None else ""


def scores(texts: Sequence[str], proba: np.ndarray,
           embeddings: np.ndarray | None = None) -> np.ndarray:
    """Complaint scores of normalised texts whose sentiment probabilities are ``proba``, whatever
    model gave them: the learned head when its weights ship (on the texts' USE embeddings,
    computed here unless given), else the rule."""
    head = load_head()
    if head is None:
        return complaint_scores(texts, proba[:, NEGATIVE])
    if embeddings is None:
        from models.sentiment.encoders import use_embed

        embeddings = use_embed(list(texts))
    return head.predict(texts, embeddings, proba[:, POSITIVE])


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
