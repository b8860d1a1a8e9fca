"""Grouping of short multilingual complaints: purity and recall on labelled bursts.

Labelled bursts are built from ../shared (never copied into the project):

- app reviews (Google Play, 7 languages): 1-2 star reviews labelled by the failure they name
  (log-in, crash, notifications, Bluetooth, battery, update; a review naming two is left out).
  A burst is 6-14 reviews of one failure in two to four languages, mixed with everyday 1-2 star
  reviews of no such failure, as one window of an app's complaints;
- support tweets (the "Customer Support on Twitter" sample, with their real timestamps): the
  customers' tweets to one brand in a 3-hour window, against the tweets to other brands in it.

Each window is grouped as incident detection groups it (average-linkage clustering of the
multilingual embeddings), at the old fixed similarity 0.45, and at the burst similarity
detection uses when the window's complaints are far above their usual rate. The group holding
most of the burst is scored: purity (share of that group from the burst) and recall (share of
the burst in that group).

    nice -n 10 python bench/grouping.py [--bursts 60] [--seed 3]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import IncidentRule
from monitor.detection.embeddings import CACHE
from monitor.detection.grouping import cluster
from monitor.detection.incidents import burst_similarity

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
LANGUAGES = ("nl", "fr", "de", "it", "es", "pt", "en")
FAILURES = {
    "login": r"log ?in|inlog|anmeld|einlogg|connexion|connecter|identifi|accedere|accesso|"
             r"iniciar sesi|acceder|entrar na",
    "crash": r"crash|plante|abstürz|stürzt|si blocca|si chiude|se cierra|se bloquea|trava|fecha",
    "notification": r"notif|melding|benachrichtig|mitteilung",
    "bluetooth": r"bluetooth",
    "battery": r"batter|akku|accu",
    "update": r"update|mise à jour|aggiorna|actualiza|atualiza",
}
PATTERNS = {name: re.compile(p, re.IGNORECASE) for name, p in FAILURES.items()}


def _reviews() -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]]]:
    """1-2 star reviews per failure and language, and everyday ones per language."""
    labelled: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    everyday: dict[str, list[str]] = defaultdict(list)
    for lang in LANGUAGES:
        path = SHARED / "reviews" / "googleplay-covid-apps" / f"{lang}-train.tsv"
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            stars, _, text = line.split("\t", 2)
            if stars not in ("1", "2") or not 10 <= len(text) <= 280:
                continue
            named = [n for n, p in PATTERNS.items() if p.search(text)]
            if len(named) == 1:
                labelled[named[0]][lang].append(text)
            elif not named:
                everyday[lang].append(text)
    return labelled, everyday


def review_bursts(n: int, rng: random.Random) -> list[tuple[list[str], np.ndarray, float]]:
    """(texts, is-burst flags, usual share) of ``n`` windows."""
    labelled, everyday = _reviews()
    windows = []
    for _ in range(n):
        failure = rng.choice([f for f in labelled if sum(map(len, labelled[f].values())) > 40])
        spoken = [lang for lang in labelled[failure] if len(labelled[failure][lang]) >= 3]
        langs = rng.sample(spoken, min(len(spoken), rng.randint(2, 4)))
        size = rng.randint(6, 14)
        burst = [rng.choice(labelled[failure][rng.choice(langs)]) for _ in range(size)]
        usual = [rng.choice(everyday[rng.choice(langs)]) for _ in range(rng.randint(1, 4))]
        windows.append(_window(burst, usual, rng))
    return windows


def _window(burst: list[str], usual: list[str], rng: random.Random
            ) -> tuple[list[str], np.ndarray, float]:
    rows = [(t, True) for t in burst] + [(t, False) for t in usual]
    rng.shuffle(rows)
    return [t for t, _ in rows], np.array([b for _, b in rows]), len(usual) / len(rows)


def tweet_bursts(rng: random.Random, hours: int = 3) -> list[tuple[list[str], np.ndarray, float]]:
    """Windows of real support tweets: the tweets to one brand against those to the others."""
    path = SHARED / "support-tweets" / "twcs-first5000.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    authors = {r["tweet_id"]: r["author_id"] for r in rows}
    addressed = []
    for r in rows:
        reply = (r["response_tweet_id"] or "").split(",")[0]
        brand = authors.get(reply) if reply else None
        if r["inbound"] == "True" and brand and not brand.isdigit() and r["text"]:
            when = datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")
            addressed.append((when, brand, r["text"]))
    addressed.sort()
    windows = []
    start = addressed[0][0]
    while start < addressed[-1][0]:
        inside = [(b, t) for w, b, t in addressed if start <= w < start + timedelta(hours=hours)]
        counts = defaultdict(int)
        for b, _ in inside:
            counts[b] += 1
        top = max(counts, key=counts.__getitem__, default=None)
        if top and counts[top] >= 6 and len(inside) > counts[top]:
            texts = [t for _, t in inside][:120]
            flags = np.array([b == top for b, _ in inside][:120])
            windows.append((texts, flags, 1 - flags.mean()))
        start += timedelta(hours=hours)
    rng.shuffle(windows)
    return windows


def score(windows: list[tuple[list[str], np.ndarray, float]], similarity: float | None,
          rule: IncidentRule) -> tuple[float, float]:
    """Mean purity and recall of the group holding most of each burst."""
    purity, recall = [], []
    for texts, flags, usual in windows:
        sim = similarity if similarity is not None else burst_similarity(
            rule.burst_similarity, usual)
        labels = cluster(CACHE.embed(texts), sim)
        best = max(np.unique(labels), key=lambda g: int(np.sum(flags & (labels == g))))
        members = labels == best
        purity.append(float(np.sum(flags & members) / np.sum(members)))
        recall.append(float(np.sum(flags & members) / np.sum(flags)))
    return float(np.mean(purity)), float(np.mean(recall))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=60)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"{SHARED} is absent: nothing to measure")
        return 0
    rng = random.Random(args.seed)
    rule = IncidentRule()
    sets = {"app reviews, 7 languages": review_bursts(args.bursts, rng),
            "support tweets by brand, 3 h windows": tweet_bursts(rng)}
    for name, windows in sets.items():
        share = np.mean([w[2] for w in windows])
        print(f"{name}: {len(windows)} windows, {np.mean([w[1].sum() for w in windows]):.1f} "
              f"burst and {np.mean([len(w[0]) - w[1].sum() for w in windows]):.1f} other "
              f"complaints each (usual share {share:.2f})")
        for label, sim in (("fixed 0.45", rule.similarity), ("fixed 0.30", 0.3),
                           ("burst-scaled", None)):
            purity, recall = score(windows, sim, rule)
            print(f"  {label:<13} purity {purity:.3f}  recall {recall:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
