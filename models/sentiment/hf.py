"""Any Hugging Face sequence-classification model, from a local path or the local cache."""

import os
from collections.abc import Sequence

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import models.sentiment.vigie_use  # noqa: F401  (registers model_type "vigie-use")
from models.complaints.intent import model_suffix
from models.sentiment.batching import length_batches, unique
from models.sentiment.labels import label_matrix
from models.sentiment.prediction import LABELS, Prediction, scored
from models.sentiment.ratings import valid_rating
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
        # The learned intent heads read a USE embedding computed for them (an extra encoder
        # pass), not this model's outputs.
        self.model_id += model_suffix()

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

    def predict_proba(self, texts: list[str],
                      ratings: Sequence[object] | None = None) -> np.ndarray:
        """(n, 3) probabilities in LABELS order, each distinct normalised text scored once;
        this model's sentiment reads no stars (the parameter keeps the models' interface)."""
        distinct, inverse = unique([normalize(t) for t in texts])
        return self._proba(distinct)[inverse]

    def predict(self, texts: list[str], ratings: Sequence[object] | None = None
                ) -> list[Prediction]:
        """One Prediction per text. The ratings reach the complaint reading (its rating layer
        reads the intent heads' logits); this model's sentiment is its own, stars unread."""
        if ratings is not None and len(ratings) != len(texts):
            raise ValueError(f"{len(ratings)} ratings for {len(texts)} texts")
        stars = [valid_rating(r) for r in ratings] if ratings is not None else [None] * len(texts)
        keys = list(zip((normalize(t) for t in texts), stars, strict=True))
        distinct, inverse = unique(keys)
        texts_d = [t for t, _ in distinct]
        per_text = scored(texts_d, self._proba(texts_d), [r for _, r in distinct])
        return [per_text[i] for i in inverse]
