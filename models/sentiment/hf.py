"""Any Hugging Face sequence-classification model, from a local path or the local cache."""

import os

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import models.sentiment.vigie_use  # noqa: F401  (registers model_type "vigie-use")
from models import complaints
from models.sentiment.batching import length_batches, unique
from models.sentiment.encoders import use_embed
from models.sentiment.labels import label_matrix
from models.sentiment.language import detect
from models.sentiment.prediction import LABELS, Prediction
from models.sentiment.text import normalize

os.environ.setdefault("HF_HUB_OFFLINE", "1")
BATCH_SIZE = 64
MAX_TOKENS = 256


class TransformersModel:
    """Batched, deduplicated inference over a transformers classifier with mapped labels."""

    def __init__(self, name: str) -> None:
        # local_files_only: a model id must already be in the cache; nothing is downloaded.
        self.tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            name, local_files_only=True
        ).eval()
        config = self.model.config
        self.to_labels = label_matrix({int(k): v for k, v in config.id2label.items()})
        self.model_id = f"hf:{name}@{getattr(config, '_commit_hash', None) or 'local'}"
        # The learned complaint head reads a USE embedding computed here (an extra encoder
        # pass), not this model's outputs; without its weights, the baseline rule.
        self.complaint_head = complaints.load_head()
        if self.complaint_head is not None:
            self.model_id += f"+{complaints.HEAD_ID}"

    @torch.inference_mode()
    def _proba(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        lengths = [len(t) for t in texts]
        for batch in length_batches(lengths, BATCH_SIZE):
            enc = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                 max_length=MAX_TOKENS, return_tensors="pt")
            probs = torch.softmax(self.model(**enc).logits.float(), dim=-1).numpy()
            out[batch] = probs @ self.to_labels
        return out

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """(n, 3) probabilities in LABELS order, each distinct normalised text scored once."""
        distinct, inverse = unique([normalize(t) for t in texts])
        return self._proba(distinct)[inverse]

    def _complaint_scores(self, texts: list[str], proba: np.ndarray) -> np.ndarray:
        """Complaint scores of raw texts whose probabilities are proba."""
        if self.complaint_head is None:
            return complaints.complaint_scores(texts, proba[:, 0])
        distinct, inverse = unique([normalize(t) for t in texts])
        first = np.unique(inverse, return_index=True)[1]
        # Scored once per distinct text, so duplicates get bit-identical scores.
        scores = self.complaint_head.predict(distinct, use_embed(distinct), proba[first, 2])
        return scores[inverse]

    def predict(self, texts: list[str]) -> list[Prediction]:
        proba = self.predict_proba(texts)
        complaint = self._complaint_scores(texts, proba)
        return [
            Prediction(
                label=LABELS[int(p.argmax())],
                score=float(p.max()),
                language=detect(normalize(t)),
                is_complaint=bool(c >= complaints.COMPLAINT_THRESHOLD),
                complaint_score=float(c),
            )
            for t, p, c in zip(texts, proba, complaint, strict=True)
        ]
