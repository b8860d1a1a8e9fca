"""What the e5 tier buys, and what routing costs: the held-out benchmark under three policies.

`python bench/cascade.py [--cap N]`: the held-out rows of every set in ../shared (the
benchmark's, `models.sentiment.benchmark`) read by the fast tier alone, by the shipped cascade
(fast tier for all, e5 for the routed ones) and by the full tier for every mention; one table
per policy, then the share of distinct (text, stars) pairs each policy sends to e5. e5
embeddings are remembered per text in the training cache (VIGIE_TRAIN_CACHE), so only the first
run pays for them (~15-40 texts/s on 2 cores).
"""

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.sentiment.benchmark import benchmark, tables
from models.sentiment.bundled import EVERYTHING, BundledModel, Routing
from models.sentiment.corpora import VAL_CAP
from models.sentiment.e5 import E5_DIM, e5_embed
from models.sentiment.featcache import DEFAULT_DIR


class MemoE5:
    """e5_embed with a per-text memory kept on disk, counting the texts it is asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / "e5-by-text"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.asked = 0

    def _path(self, text: str) -> Path:
        digest = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()
        return self.folder / digest[:2] / f"{digest}.npy"

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.asked += len(texts)
        out = np.zeros((len(texts), E5_DIM), np.float32)
        missing = []
        for i, text in enumerate(texts):
            path = self._path(text)
            if path.exists():
                out[i] = np.load(path)
            else:
                missing.append(i)
        if missing:
            fresh = e5_embed([texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                path = self._path(texts[i])
                path.parent.mkdir(exist_ok=True)
                np.save(path, vector)
                out[i] = vector
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cap", type=int, default=VAL_CAP, help="held-out rows per set")
    args = parser.parse_args()
    memo = MemoE5(DEFAULT_DIR)
    policies = {"fast tier only": None, "cascade (shipped)": Routing(),
                "full tier for every mention": EVERYTHING}
    for name, routing in policies.items():
        memo.asked = 0
        model = (BundledModel(use_e5=False) if routing is None
                 else BundledModel(routing=routing, e5_encode=memo))
        print(f"\n##### {name}: {model.model_id}", flush=True)
        print(tables(benchmark(model, args.cap)), flush=True)
        distinct = len(model._cache)  # every distinct (text, stars) pair scored, none evicted
        print(f"sent to e5: {memo.asked} of {distinct} distinct (text, stars) pairs "
              f"({100 * memo.asked / max(distinct, 1):.0f}%)", flush=True)


if __name__ == "__main__":
    main()
