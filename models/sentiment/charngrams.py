"""Hashed n-gram tf-idf heads: cheap, local evidence (negations, emoji, slang) the encoder misses.

Two views of a text share the code: character n-grams within words, and unigrams + bigrams of
USE sentencepiece ids. Hashing keeps the feature maps stateless, so only an idf vector and a
linear head are stored per view.

The features are exactly those of scikit-learn's ``HashingVectorizer`` (``char_wb`` 1-4 with
lowercasing, and a whitespace analyzer for the piece tokens; signed 32-bit MurmurHash3, seed 0,
``abs(h) % N_FEATURES``, no alternate sign; a test holds them equal). They are computed here with
``mmh3`` because importing scikit-learn costs more than a second of model load, and prediction
uses plain numpy instead of scipy.sparse for the same reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import mmh3
import numpy as np

from models.sentiment.encoders import tokenize
from models.sentiment.heads import LinearHead

if TYPE_CHECKING:
    from scipy import sparse

N_FEATURES = 2**18
CHAR_ORDERS = (1, 4)
VIEWS: tuple[str, ...] = ("char", "piece")
_WHITE_SPACES = re.compile(r"\s\s+")


class Counts(NamedTuple):
    """Hashed n-gram counts of a batch in CSR layout (row i is indices[indptr[i]:indptr[i+1]])."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    def to_csr(self) -> sparse.csr_matrix:
        """The scipy matrix training's scikit-learn estimators take."""
        from scipy import sparse

        return sparse.csr_matrix((self.data, self.indices, self.indptr),
                                 shape=(len(self.indptr) - 1, N_FEATURES))


def _row_ids(matrix: Counts | sparse.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(len(matrix.indptr) - 1), np.diff(matrix.indptr))


def char_wb_ngrams(text: str) -> Iterator[str]:
    """Character 1-4-grams within space-padded words, as scikit-learn's ``char_wb`` yields."""
    low, high = CHAR_ORDERS
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        word = f" {word} "
        for n in range(low, high + 1):
            yield from (word[i:i + n] for i in range(max(len(word) - n, 0) + 1))
            if len(word) <= n:  # a short word is counted once, at its full length
                break


def piece_tokens(ids: list[int]) -> Iterator[str]:
    """Sentencepiece unigram and bigram tokens of one text."""
    yield from (f"p{a}" for a in ids)
    yield from (f"b{a}_{b}" for a, b in pairwise(ids))


def bucket(token: str) -> int:
    """scikit-learn's feature index of a token (lone surrogates hashed as U+FFFD)."""
    return abs(mmh3.hash(token.encode("utf-8", "replace"), 0, signed=True)) % N_FEATURES


def hashed(token_lists: Iterable[Iterable[str]]) -> Counts:
    """CSR counts of hashed tokens, indices sorted within each row."""
    indptr, indices, data = [0], [], []
    for tokens in token_lists:
        row = Counter(bucket(t) for t in tokens)
        for index in sorted(row):
            indices.append(index)
            data.append(row[index])
        indptr.append(len(indices))
    return Counts(np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int32),
                  np.asarray(data, dtype=np.float32))


def counts(texts: list[str], view: str = "char") -> Counts:
    """Raw hashed n-gram counts of one view (the input to both idf fitting and features)."""
    if view == "piece":
        return hashed(piece_tokens(ids) for ids in tokenize(texts))
    return hashed(char_wb_ngrams(t) for t in texts)


def fit_idf(matrix: Counts | sparse.csr_matrix) -> np.ndarray:
    """Smoothed idf, as scikit-learn's TfidfTransformer computes it."""
    df = np.bincount(matrix.indices, minlength=N_FEATURES)
    return (np.log(len(matrix.indptr) / (1 + df)) + 1).astype(np.float32)


def tfidf(matrix: Counts | sparse.csr_matrix, idf: np.ndarray) -> Counts:
    """Sublinear tf-idf, L2-normalised rows (of counts, or of their scipy matrix in training)."""
    rows = _row_ids(matrix)
    values = (1 + np.log(matrix.data.astype(np.float64))) * idf[matrix.indices]
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(matrix.indptr) - 1))
    norms[norms == 0] = 1
    values /= norms[rows]
    return Counts(matrix.indptr, matrix.indices, values.astype(np.float32))


def linear(matrix: Counts, head: LinearHead) -> np.ndarray:
    """(n, classes) logits of a linear head over sparse rows, without scipy."""
    rows, n = _row_ids(matrix), len(matrix.indptr) - 1
    columns = [np.bincount(rows, weights=matrix.data * w[matrix.indices], minlength=n)
               for w in head.weight]
    return np.stack(columns, axis=1).astype(np.float32) + head.bias


@dataclass(frozen=True)
class CharNgramModel:
    """Hashed n-gram tf-idf of one view + linear head."""

    idf: np.ndarray
    head: LinearHead
    view: str = "char"

    def logits(self, texts: list[str]) -> np.ndarray:
        return linear(tfidf(counts(texts, self.view), self.idf), self.head)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, idf=self.idf.astype(np.float16),
                            weight=self.head.weight.astype(np.float16), bias=self.head.bias,
                            view=np.array(self.view))

    @classmethod
    def load(cls, path: Path) -> CharNgramModel:
        with np.load(path) as z:
            head = LinearHead(z["weight"].astype(np.float32), z["bias"].astype(np.float32))
            return cls(z["idf"].astype(np.float32), head, str(z["view"]))
