"""Small numpy classification heads: the only trained weights the bundled model ships."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


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
