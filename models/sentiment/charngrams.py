"""Character n-gram features: cheap, language-agnostic evidence the sentence encoder misses.

Hashing keeps the feature map stateless, so only an idf vector and a linear head are stored.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from models.sentiment.heads import LinearHead

N_FEATURES = 2**18
VECTORIZER = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=N_FEATURES,
                               alternate_sign=False, norm=None, lowercase=True)


def counts(texts: list[str]) -> sparse.csr_matrix:
    """Raw hashed n-gram counts (the input to both idf fitting and features)."""
    return VECTORIZER.transform(texts).tocsr()


def fit_idf(matrix: sparse.csr_matrix) -> np.ndarray:
    """Smoothed idf, as sklearn's TfidfTransformer computes it."""
    df = np.bincount(matrix.indices, minlength=N_FEATURES)
    return (np.log((1 + matrix.shape[0]) / (1 + df)) + 1).astype(np.float32)


def tfidf(matrix: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf-idf, L2-normalised rows."""
    out = matrix.astype(np.float32)
    out.data = 1 + np.log(out.data)
    return l2_normalize(out @ sparse.diags(idf), copy=False)


@dataclass(frozen=True)
class CharNgramModel:
    """Hashed char n-gram tf-idf + linear head."""

    idf: np.ndarray
    head: LinearHead

    def logits(self, texts: list[str]) -> np.ndarray:
        features = tfidf(counts(texts), self.idf)
        return np.asarray(features @ self.head.weight.T) + self.head.bias

    def save(self, path: Path) -> None:
        np.savez_compressed(path, idf=self.idf.astype(np.float16),
                            weight=self.head.weight.astype(np.float16), bias=self.head.bias)

    @classmethod
    def load(cls, path: Path) -> "CharNgramModel":
        with np.load(path) as z:
            head = LinearHead(z["weight"].astype(np.float32), z["bias"].astype(np.float32))
            return cls(z["idf"].astype(np.float32), head)
