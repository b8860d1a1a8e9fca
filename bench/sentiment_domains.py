"""Held-out sentiment macro-F1 of 0.4 (review expert alone) vs 0.5 (experts mixed by domain).

`python bench/sentiment_domains.py`: one line per held-out set of ../shared (the benchmark's
rows), both models on the same USE embeddings, and a 95% bootstrap interval of the difference.
"""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.sentiment.bundled import ARTIFACTS
from models.sentiment.corpora import VAL_CAP, corpora, sample
from models.sentiment.encoders import use_embed
from models.sentiment.ensemble import Ensemble
from models.sentiment.prediction import LABELS
from models.sentiment.text import normalize
from models.sentiment.train import macro_f1

BOOTSTRAP = 200


def labels_of(ensemble: Ensemble, texts: list[str], use: np.ndarray, binary: bool) -> np.ndarray:
    logits = ensemble.logits(texts, use)
    return np.where(logits[:, 0] >= logits[:, 2], 0, 2) if binary else logits.argmax(1)


def main() -> None:
    mixed, _ = Ensemble.load(ARTIFACTS)
    single = replace(mixed, tweets=None)
    rng = np.random.default_rng(0)
    for c in (sample(c, VAL_CAP) for c in corpora()
              if c.split == "val" and c.domain != "complaints"):
        texts = [normalize(t) for t in c.texts]
        use = use_embed(texts)
        y = np.array([LABELS.index(label) for label in c.labels])
        binary = len(set(y)) == 2
        a, b = (labels_of(e, texts, use, binary) for e in (single, mixed))
        draws = [macro_f1(y[i], b[i]) - macro_f1(y[i], a[i])
                 for i in (rng.integers(0, len(y), len(y)) for _ in range(BOOTSTRAP))]
        lo, hi = np.percentile(draws, [2.5, 97.5]) * 100
        old, new = 100 * macro_f1(y, a), 100 * macro_f1(y, b)
        print(f"{c.domain:8} {c.name:22} {c.language} n={len(y):5}  0.4 {old:5.1f}"
              f"  0.5 {new:5.1f}  diff {new - old:+5.1f} (95% CI {lo:+.1f} to {hi:+.1f})",
              flush=True)


if __name__ == "__main__":
    main()
