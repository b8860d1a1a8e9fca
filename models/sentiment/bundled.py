"""The default model: the trained ensemble (models/artifacts/sentiment) over PyPI-shipped USE."""

from pathlib import Path

import numpy as np

from models import complaints
from models.sentiment.batching import unique
from models.sentiment.ensemble import Ensemble
from models.sentiment.language import detect
from models.sentiment.prediction import LABELS, Prediction
from models.sentiment.text import normalize

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "sentiment"


class BundledModel:
    """USE + n-gram ensemble; stateless after load, safe to share between threads."""

    def __init__(self, artifacts: Path = ARTIFACTS) -> None:
        self.ensemble, self.model_id = Ensemble.load(artifacts)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n, 3) probabilities in LABELS order; each distinct normalised text is scored once."""
        distinct, inverse = unique([normalize(t) for t in texts])
        if not distinct:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return self.ensemble.proba(distinct)[inverse]

    def predict(self, texts: list[str]) -> list[Prediction]:
        distinct, inverse = unique([normalize(t) for t in texts])
        if not distinct:
            return []
        proba = self.ensemble.proba(distinct)
        languages = [detect(t.replace("@user", "").replace("http", "")) for t in distinct]
        complaint = complaints.complaint_scores(distinct, proba[:, 0])
        per_text = [
            Prediction(
                label=LABELS[int(p.argmax())],
                score=float(p.max()),
                language=lang,
                is_complaint=bool(c >= complaints.COMPLAINT_THRESHOLD),
                complaint_score=float(c),
            )
            for p, lang, c in zip(proba, languages, complaint, strict=True)
        ]
        return [per_text[i] for i in inverse]
