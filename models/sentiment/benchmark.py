"""`python -m models.sentiment benchmark`: every labelled set in ../shared, held-out parts only.

One table per domain (tweets, reviews, complaints), one row per set and language: sentiment
macro-F1 from the text alone and with the stars (where the set has them), with a 95% bootstrap
interval; for reviews with stars, complaint recall on 1-2 stars, the share of 5-star reviews
flagged and complaint precision against 4-5 stars; for complaint sets, precision / recall /
F1. Held-out parts are XLM-T val, Allociné dev, and for sets without a split the hash-held-out
share of `corpora.py` (never trained on), at most VAL_CAP rows each, drawn uniformly so each
set keeps its class balance. The last line is JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.complaints.support import support_split
from models.sentiment.corpora import VAL_CAP, Corpus, corpora, sample
from models.sentiment.evaluate import score

BOOTSTRAP = 200


def interval(gold: list[str], predicted: list[str], classes: list[str],
             seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of macro-F1 (percent)."""
    from models.sentiment.evaluate import macro_f1

    rng = np.random.default_rng(seed)
    g, p = np.array(gold), np.array(predicted)
    draws = [macro_f1(g[i].tolist(), p[i].tolist(), classes)
             for i in (rng.integers(0, len(g), len(g)) for _ in range(BOOTSTRAP))]
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def complaint_flags(model, texts: list[str], stars: Sequence[int | None] | None) -> np.ndarray:
    out = []
    for i in range(0, len(texts), 512):
        part = None if stars is None else list(stars[i:i + 512])
        out += [p.is_complaint for p in model.predict(texts[i:i + 512], part)]
    return np.array(out, dtype=bool)


def review_complaints(model, c: Corpus, with_stars: bool) -> dict[str, float]:
    """Complaint recall on 1-2 stars, share of 5 stars flagged, precision against 4-5 stars."""
    stars = c.stars.tolist() if with_stars else None
    flags = complaint_flags(model, c.texts, stars)
    low, high, five = c.stars <= 2, c.stars >= 4, c.stars == 5
    low &= c.stars > 0
    flagged = flags & (low | high)
    return {"recall_1_2": round(float(flags[low].mean()), 3) if low.any() else float("nan"),
            "flagged_5": round(float(flags[five].mean()), 3) if five.any() else float("nan"),
            "precision": round(float((flags & low).sum() / max(flagged.sum(), 1)), 3)}


def sentiment_row(model, c: Corpus) -> dict:
    labels, texts = c.labels, c.texts
    row = {"set": c.name, "language": c.language, **score(model, labels, texts)}
    preds = [p.label for p in model.predict(texts)] if len(row["classes"]) == 3 else None
    if preds is not None:
        row["ci"] = interval(labels, preds, row["classes"])
    if (c.stars > 0).any():
        stars = [int(s) if s else None for s in c.stars]
        row["with_stars"] = score(model, labels, texts, stars)["macro_f1"]
        row["complaints_text"] = review_complaints(model, c, False)
        row["complaints_stars"] = review_complaints(model, c, True)
    return row


def complaint_sets() -> list[Corpus]:
    """CESAMARD's held-out reviews and the held-out support-thread openers vs brand replies."""
    out = [c for c in corpora() if c.domain == "complaints" and c.split == "val"]
    try:
        sup = support_split()
    except OSError:
        return out
    keep = np.flatnonzero(sup.held & (sup.opener | ~sup.inbound))
    labels = ["complaint" if sup.inbound[i] else "not_complaint" for i in keep]
    out.append(Corpus("support-openers", "complaints", "en", "val",
                      [sup.texts[i] for i in keep], labels, np.zeros(len(keep), np.int64)))
    return out


def benchmark(model, cap: int = VAL_CAP) -> list[dict]:
    rows = []
    for c in [c for c in corpora() if c.split == "val" and c.domain != "complaints"]:
        rows.append({"domain": c.domain, **sentiment_row(model, sample(c, cap))})
    for c in (sample(c, cap) for c in complaint_sets()):
        rows.append({"domain": "complaints", "set": c.name, "language": c.language,
                     **score(model, c.labels, c.texts)})
    return rows


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    return str(value)


def tables(rows: list[dict]) -> str:
    """One plain-text table per domain."""
    out = []
    for domain in ("tweets", "reviews", "complaints"):
        mine = [r for r in rows if r["domain"] == domain]
        if not mine:
            continue
        out.append(f"\n== {domain}")
        if domain == "complaints":
            out.append("set                    lang     n  macro-F1  precision  recall")
            out += [f"{r['set']:<22} {r['language']:<4} {r['n']:>5}  {r['macro_f1']:>8.1f}  "
                    f"{r['precision']:>9.3f}  {r['recall']:>6.3f}" for r in mine]
            continue
        out.append("set                    lang     n  macro-F1 (95% CI)    +stars  "
                   "complaint R(1-2) / 5* flagged / P: text | +stars")
        for r in mine:
            ci = r.get("ci")
            band = f"({ci[0]:.1f}-{ci[1]:.1f})" if ci else "(binary)   "
            line = (f"{r['set']:<22} {r['language']:<4} {r['n']:>5}  {r['macro_f1']:>6.1f} "
                    f"{band:<13} {_fmt(r.get('with_stars', '')):>6}")
            if "complaints_text" in r:
                t, s = r["complaints_text"], r["complaints_stars"]
                line += (f"  {t['recall_1_2']:.2f} / {t['flagged_5']:.2f} / {t['precision']:.2f}"
                         f" | {s['recall_1_2']:.2f} / {s['flagged_5']:.2f} / {s['precision']:.2f}")
            out.append(line)
    return "\n".join(out)
