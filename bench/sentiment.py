"""Sentiment scoring speed on a realistic stream: throughput, naive baseline, RSS, load time.

20,000 mentions are drawn (seeded) from real tweets in ../shared/data (XLM-T val, support
tweets), with the repetition real streams have: exact duplicates and "RT @someone: " copies.
`predict` is timed on the whole stream in batches of 256 (as monitor/scoring.py calls it). The
naive baseline is `transformers.pipeline("text-classification")` called once per mention on the
same model (for the default model, its transformers export: the USE head, see vigie_use.py), no
batching or dedup; it is timed on a subsample (--naive, default 1,000) and extrapolated to the
stream. Model load is timed in a fresh Python process, from the first import to the first
prediction. Targets: >= 5x the naive loop, >= 300 mentions/s on 2 cores, peak RSS <= 1 GB,
model load <= 3 s.

    python bench/sentiment.py [--n 20000] [--naive 1000] [--model NAME]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.complaints_eval import SUPPORT_TWEETS, read_support  # noqa: E402
from models.sentiment import load  # noqa: E402
from models.sentiment.data import SENTIMENT_DATA, xlmt_split  # noqa: E402

BATCH = 256
DUPLICATE_RATE = 0.25
RETWEET_RATE = 0.15


def stream(n: int, seed: int = 0) -> list[str]:
    """n mentions: originals from real tweets, then duplicates and retweet copies mixed in."""
    pool = [t for _, texts in xlmt_split("val").values() for t in texts]
    pool += [t for t, inbound, _ in zip(*read_support(SUPPORT_TWEETS), strict=True) if inbound]
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        draw = rng.random()
        if out and draw < DUPLICATE_RATE:
            out.append(rng.choice(out))
        elif out and draw < DUPLICATE_RATE + RETWEET_RATE:
            out.append(f"RT @fan{rng.randrange(10_000)}: {rng.choice(out)}")
        else:
            out.append(rng.choice(pool))
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


LOAD_SNIPPET = """
import sys, time
start = time.perf_counter()
from models.sentiment import load
load(sys.argv[1] or None).predict(["warm-up: loads the encoder weights"])
print(time.perf_counter() - start, time.process_time())
"""


def load_seconds(name: str | None) -> tuple[float, float]:
    """(wall, CPU) seconds from the first import to the first prediction, in a fresh interpreter
    (the bench's own imports would otherwise hide part of the cost). CPU time is what an idle
    machine would roughly take; wall time also counts waiting for a shared CPU."""
    done = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, name or ""], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def predict_rate(model: object, texts: list[str], what: str) -> float:
    """Mentions/s of ``model.predict`` over texts in batches of BATCH; prints it."""
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), BATCH):
        model.predict(texts[i:i + BATCH])
    rate = len(texts) / (time.perf_counter() - start)
    print(f"{what}, batches of {BATCH}: {rate:.0f} mentions/s wall, "
          f"{len(texts) / (time.process_time() - cpu):.0f} per CPU-second  [target >= 300]")
    return rate


def naive_pipeline_rate(name: str | None, sample: list[str]) -> float:
    """Mentions/s of a transformers text-classification pipeline called once per mention."""
    from transformers import pipeline

    from models.sentiment.vigie_use import EXPORT_DIR

    classify = pipeline("text-classification", model=name or str(EXPORT_DIR), device="cpu")
    classify(sample[0])
    start = time.perf_counter()
    for text in sample:
        classify(text)
    return len(sample) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--naive", type=int, default=1_000)
    parser.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    if not (SENTIMENT_DATA / "xlmt").is_dir() or not SUPPORT_TWEETS.is_file():
        print(f"bench data not found under {SENTIMENT_DATA.parent}", file=sys.stderr)
        return 2
    texts = stream(args.n)
    print(f"stream: {len(texts)} mentions, {len(set(texts))} distinct")

    loads = sorted(load_seconds(args.model) for _ in range(3))
    print(f"model load, fresh process, import to first prediction: median {loads[1][0]:.2f} s "
          f"wall, {loads[1][1]:.2f} s CPU (runs: "
          f"{', '.join(f'{w:.2f}/{c:.2f}' for w, c in loads)})  [target <= 3 s]")
    model = load(args.model)
    model.predict(["warm-up: loads the encoder weights"])

    fast = predict_rate(model, texts, "predict")
    if args.model is None:  # the bundled model's cross-call result cache, switched off
        from models.sentiment.bundled import BundledModel

        uncached = BundledModel(cache_size=0)
        predict_rate(uncached, texts, "same, result cache off")
    peak_fast = peak_rss_mb()
    naive = naive_pipeline_rate(args.model, texts[-args.naive:])
    print(f"naive pipeline loop, batch size 1 (measured on {args.naive}, extrapolated): "
          f"{naive:.0f} mentions/s, {args.n / naive:.0f} s for {args.n}")
    print(f"speed-up: {fast / naive:.1f}x  [target >= 5x]")
    print(f"peak RSS: {peak_fast:.0f} MB for load + predict, {peak_rss_mb():.0f} MB with the "
          "naive pipeline also loaded  [target <= 1024]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
