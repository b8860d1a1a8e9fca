"""The default model: heads trained on XLM-T over encoders shipped by PyPI packages."""

import json
from pathlib import Path

import numpy as np

from models import complaints
from models.sentiment.encoders import use_embed
from models.sentiment.heads import LinearHead
from models.sentiment.language import detect
from models.sentiment.prediction import LABELS, Prediction
from models.sentiment.text import normalize

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"


class BundledModel:
    """USE embeddings + a logistic-regression head; stateless after load, safe to share."""

    def __init__(self, artifacts: Path = ARTIFACTS) -> None:
        meta = json.loads((artifacts / "meta.json").read_text())
        self.model_id: str = meta["model_id"]
        self.head = LinearHead.load(artifacts / "use_head.npz")

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n, 3) sentiment probabilities in LABELS order."""
        return self.head.proba(use_embed(texts))

    def predict(self, texts: list[str]) -> list[Prediction]:
        clean = [normalize(t) for t in texts]
        proba = self.predict_proba(clean)
        complaint = complaints.complaint_scores(texts, proba[:, 0])
        return [
            Prediction(
                label=LABELS[int(p.argmax())],
                score=float(p.max()),
                language=detect(t.replace("@user", "").replace("http", "")),
                is_complaint=bool(c >= complaints.COMPLAINT_THRESHOLD),
                complaint_score=float(c),
            )
            for t, p, c in zip(clean, proba, complaint, strict=True)
        ]
