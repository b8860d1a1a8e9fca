"""Small numpy classification heads: the only trained weights the bundled model ships."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for large logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression: probabilities = softmax(x @ weight.T + bias)."""

    weight: np.ndarray
    bias: np.ndarray

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features.astype(np.float32) @ self.weight.T + self.bias

    def proba(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weight=self.weight.astype(np.float16), bias=self.bias)

    @classmethod
    def load(cls, path: Path) -> "LinearHead":
        with np.load(path) as z:
            return cls(z["weight"].astype(np.float32), z["bias"].astype(np.float32))


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

    def to_json(self) -> dict[str, object]:
        return {"weights": [float(w) for w in self.weights],
                "bias": [float(b) for b in self.bias], "temperature": float(self.temperature)}

    @classmethod
    def from_json(cls, data: dict) -> "Mixer":
        return cls(np.asarray(data["weights"], dtype=np.float32),
                   np.asarray(data["bias"], dtype=np.float32), float(data["temperature"]))
