"""Complaint detection checked on real support traffic: `python -m models.complaints.eval`.

In ../shared/data/support-tweets/ the inbound tweets are customers writing to a brand's support
account (mostly problems) and the outbound ones are the brands' replies (never complaints). The
proxy is coarse, since some inbound tweets are thanks or questions, so recall is a lower bound.
The brand an inbound tweet targets is the author of the reply it got.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from models import complaints
from models.complaints.support import SUPPORT_TWEETS, support_rows
from models.sentiment import load


def precision_recall(flags: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of boolean flags against boolean gold labels."""
    tp = int(np.sum(flags & gold))
    p, r = tp / max(int(flags.sum()), 1), tp / max(int(gold.sum()), 1)
    return {"precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / max(p + r, 1e-9), 4), "flagged": int(flags.sum())}


def read_support(path: Path) -> tuple[list[str], list[bool], list[str | None]]:
    """(texts, is_inbound, brand that answered the tweet or None) of the support corpus."""
    rows = support_rows(path)
    author = {r["tweet_id"]: r["author_id"] for r in rows}
    brands: list[str | None] = []
    for r in rows:
        replies = [author[t] for t in (r["response_tweet_id"] or "").split(",") if t in author]
        brands.append(replies[0] if r["inbound"] == "True" and replies else None)
    return [r["text"] for r in rows], [r["inbound"] == "True" for r in rows], brands


def evaluate(path: Path = SUPPORT_TWEETS, model_name: str | None = None) -> dict:
    """Precision/recall of is_complaint (inbound = positive) and accuracy of detect_target."""
    texts, inbound, answered_by = read_support(path)
    model = load(model_name)
    flags = np.array([p.is_complaint for p in model.predict(texts)])
    found = precision_recall(flags, np.array(inbound))
    brands = sorted({b for b in answered_by if b})
    targeted = [(complaints.detect_target(t, brands), b)
                for t, b in zip(texts, answered_by, strict=True) if b]
    return {
        "model_id": model.model_id,
        "n": len(texts),
        "inbound": sum(inbound),
        "flagged": found["flagged"],
        "precision": found["precision"],
        "recall": found["recall"],
        "target_n": len(targeted),
        "target_accuracy": round(sum(g == b for g, b in targeted) / max(len(targeted), 1), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.complaints.eval", description=__doc__)
    parser.add_argument("file", nargs="?", default=str(SUPPORT_TWEETS))
    parser.add_argument("--model", default=None, help="HF model id or local path")
    args = parser.parse_args(argv)
    if not Path(args.file).is_file():
        print(f"support tweets not found at {args.file}", file=sys.stderr)
        return 2
    print(json.dumps(evaluate(Path(args.file), args.model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
