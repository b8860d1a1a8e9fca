"""Hashed n-gram tf-idf heads: cheap, local evidence (negations, emoji, slang) the encoder misses.

Two views of a text share the code: character n-grams within words, and unigrams + bigrams of
USE sentencepiece ids. Hashing keeps the feature maps stateless, so only an idf vector and a
linear head are stored per view.
"""

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize as l2_normalize

from models.sentiment.encoders import tokenize
from models.sentiment.heads import LinearHead

N_FEATURES = 2**18
CHAR = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=N_FEATURES,
                         alternate_sign=False, norm=None, lowercase=True)
PIECE = HashingVectorizer(analyzer=str.split, n_features=N_FEATURES, alternate_sign=False,
                          norm=None)
VIEWS: tuple[str, ...] = ("char", "piece")


def piece_documents(texts: list[str]) -> list[str]:
    """Each text as space-separated sentencepiece unigram and bigram tokens."""
    docs = []
    for ids in tokenize(texts):
        unigrams = " ".join(f"p{a}" for a in ids)
        docs.append(unigrams + " " + " ".join(f"b{a}_{b}" for a, b in pairwise(ids)))
    return docs


def counts(texts: list[str], view: str = "char") -> sparse.csr_matrix:
    """Raw hashed n-gram counts of one view (the input to both idf fitting and features)."""
    if view == "piece":
        return PIECE.transform(piece_documents(texts)).tocsr()
    return CHAR.transform(texts).tocsr()


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
    """Hashed n-gram tf-idf of one view + linear head."""

    idf: np.ndarray
    head: LinearHead
    view: str = "char"

    def logits(self, texts: list[str]) -> np.ndarray:
        features = tfidf(counts(texts, self.view), self.idf)
        return np.asarray(features @ self.head.weight.T) + self.head.bias

    def save(self, path: Path) -> None:
        np.savez_compressed(path, idf=self.idf.astype(np.float16),
                            weight=self.head.weight.astype(np.float16), bias=self.head.bias,
                            view=np.array(self.view))

    @classmethod
    def load(cls, path: Path) -> "CharNgramModel":
        with np.load(path) as z:
            head = LinearHead(z["weight"].astype(np.float32), z["bias"].astype(np.float32))
            return cls(z["idf"].astype(np.float32), head, str(z["view"]))
