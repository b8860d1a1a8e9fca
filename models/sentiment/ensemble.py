"""The bundled sentiment model: three linear views of a text, mixed in log-probability space.

Frozen multilingual USE embeddings carry meaning across languages; hashed char and sentencepiece
n-grams carry the local cues (emoji, negation, slang) a sentence vector blurs. Each view alone
reaches about 58-61 macro-F1 on XLM-T val; their mix reaches about 64-66 (see MODEL_CARD.md).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.sentiment.charngrams import VIEWS, CharNgramModel
from models.sentiment.encoders import use_embed
from models.sentiment.heads import LinearHead, softmax

COMPONENTS: tuple[str, ...] = ("use", *VIEWS)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class Mixer:
    """softmax((sum_k weight_k * log p_k + bias) / temperature): weights and the class bias are
    chosen for macro-F1 on out-of-fold predictions, the temperature for log-loss (calibration)."""

    weights: np.ndarray
    bias: np.ndarray
    temperature: float

    def logits(self, log_probs: list[np.ndarray]) -> np.ndarray:
        mixed = sum(w * lp for w, lp in zip(self.weights, log_probs, strict=True))
        return (mixed + self.bias) / self.temperature

    def proba(self, log_probs: list[np.ndarray]) -> np.ndarray:
        return softmax(self.logits(log_probs))


@dataclass(frozen=True)
class Ensemble:
    """USE head + one n-gram head per view + the mixer; all of it a few MB of fp16."""

    use_head: LinearHead
    ngram: tuple[CharNgramModel, ...]
    mixer: Mixer

    def component_log_probs(self, texts: list[str],
                            embeddings: np.ndarray | None = None) -> list[np.ndarray]:
        """Per-component (n, 3) log-probabilities of already-normalised texts (their USE
        embeddings are computed unless given)."""
        vectors = use_embed(texts) if embeddings is None else embeddings
        out = [log_softmax(self.use_head.logits(vectors))]
        return out + [log_softmax(model.logits(texts)) for model in self.ngram]

    def proba(self, texts: list[str]) -> np.ndarray:
        """(n, 3) calibrated probabilities in LABELS order."""
        return self.mixer.proba(self.component_log_probs(texts))

    def proba_and_embeddings(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities as proba() gives them, (n, 512) USE embeddings), USE run once; the
        complaint head reads both."""
        embeddings = use_embed(texts)
        return self.mixer.proba(self.component_log_probs(texts, embeddings)), embeddings

    def save(self, directory: Path, model_id: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.use_head.save(directory / "use_head.npz")
        for model in self.ngram:
            model.save(directory / f"{model.view}_head.npz")
        meta = {"model_id": model_id, "components": list(COMPONENTS),
                "weights": [float(w) for w in self.mixer.weights],
                "bias": [float(b) for b in self.mixer.bias],
                "temperature": float(self.mixer.temperature)}
        (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> tuple["Ensemble", str]:
        """(ensemble, model_id) from a directory written by save()."""
        meta = json.loads((directory / "meta.json").read_text())
        mixer = Mixer(np.asarray(meta["weights"], dtype=np.float32),
                      np.asarray(meta["bias"], dtype=np.float32), float(meta["temperature"]))
        ngram = tuple(CharNgramModel.load(directory / f"{view}_head.npz") for view in VIEWS)
        return cls(LinearHead.load(directory / "use_head.npz"), ngram, mixer), meta["model_id"]
