"""Training-time cache of encoder outputs: embedding ~100k texts on 2 shared cores takes minutes,
and every training run and benchmark would otherwise redo it. Keyed by the encoder's name and a
hash of the exact texts, stored as plain .npy (never pickle) in a folder outside the repository.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

DEFAULT_DIR = Path(os.environ.get("VIGIE_TRAIN_CACHE", Path.home() / ".cache" / "vigie-train"))
CHUNK = 512


def cached_embeddings(name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray],
                      folder: Path | None = DEFAULT_DIR, desc: str = "") -> np.ndarray:
    """encode(texts) in chunks with a progress bar, remembered in folder (None: no cache)."""
    path = None
    if folder is not None:
        blob = "\n".join([name, *texts]).encode("utf-8", "replace")
        path = folder / f"{name}-{hashlib.sha1(blob).hexdigest()[:16]}.npy"
        if path.exists():
            return np.load(path)
    parts = [encode(texts[i:i + CHUNK])
             for i in tqdm(range(0, len(texts), CHUNK), desc=desc or name, unit="chunk",
                           disable=len(texts) <= CHUNK)]
    values = np.vstack(parts) if parts else np.zeros((0, 0), np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, values)
    return values
