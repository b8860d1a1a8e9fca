"""Train the bundled model: `python -m models.sentiment train` (2 shared CPU cores, ~20 min).

Reads the train part of every sentiment set in ../shared/data (`corpora.py`: XLM-T tweets in six
languages, Dutch tweets and restaurant reviews, Allociné, Google Play reviews in seven languages,
French insurer and shop reviews, German Deutsche Bahn posts), at most TRAIN_CAP rows per set and
language. Four views are fitted on FOLDS folds for out-of-fold predictions; on those, each tier
("fast": USE + char + piece, "full": + e5) gets its mixer (weights and class bias for the mean
per-set macro-F1, temperature for log-loss) and its rating layer (fitted on the out-of-fold
logits of the rows that have stars). Every view is then refitted on all of train. Held-out parts
are never used for any choice; they are scored at the end (last line, JSON) and by
`python -m models.sentiment benchmark`.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from models.sentiment import charngrams
from models.sentiment.bundled import ARTIFACTS
from models.sentiment.corpora import DATA, Corpus, capped_corpora
from models.sentiment.domains import TweetExpert, domain_head
from models.sentiment.e5 import e5_embed
from models.sentiment.encoders import use_embed
from models.sentiment.ensemble import COMPONENTS, FAST, TIERS, Ensemble
from models.sentiment.featcache import DEFAULT_DIR, cached_embeddings
from models.sentiment.heads import LinearHead, Mixer, log_softmax
from models.sentiment.prediction import LABELS
from models.sentiment.ratings import fit_rating_layer
from models.sentiment.text import normalize

MODEL_ID = "vigie-sentiment-use-e5-ngram-0.6"
SEED = 0
FOLDS = 2
# Inverse regularisation per component (USE's and the n-grams' from 0.3's exploration).
C_VALUES = {"use": 1.0, "char": 3.0, "piece": 3.0, "e5": 1.0}
WEIGHT_STEP = 0.1
BIAS_GRID = np.round(np.arange(-0.6, 0.61, 0.1), 2)
TEMPERATURES = np.round(np.arange(0.3, 3.01, 0.05), 2)
ENCODERS = {"use": use_embed, "e5": e5_embed}


def macro_f1(gold: np.ndarray, pred: np.ndarray, k: int = len(LABELS)) -> float:
    """Macro-F1 over the classes present in gold (a binary set is scored over its two), from a
    confusion matrix: fast enough to search thousands of mixers."""
    cm = np.bincount(gold * k + pred, minlength=k * k).reshape(k, k).astype(float)
    present = cm.sum(1) > 0
    tp = np.diag(cm)
    denom = cm.sum(0) + cm.sum(1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return float(np.mean(f1[present])) if present.any() else 0.0


def mean_group_f1(gold: np.ndarray, pred: np.ndarray, groups: list[np.ndarray]) -> float:
    """The selection criterion: macro-F1 per set and language, averaged."""
    return float(np.mean([macro_f1(gold[g], pred[g]) for g in groups]))


class Data:
    """Normalised texts, labels, stars and set of the sentiment train rows, with each view's
    features of every row (e5's too: the full tier is fitted on the same rows as the fast)."""

    def __init__(self, sets: list[Corpus], cache: Path | None, with_e5: bool = True) -> None:
        self.texts = [normalize(t) for c in sets for t in c.texts]
        self.y = np.array([LABELS.index(label) for c in sets for label in c.labels])
        self.stars = np.concatenate([c.stars for c in sets])
        self.group = np.concatenate([[k] * len(c.texts) for k, c in enumerate(sets)])
        self.feats: dict[str, object] = {"use": embeddings("use", sets, cache)}
        if with_e5:
            self.feats["e5"] = embeddings("e5", sets, cache)
        for view in charngrams.VIEWS:
            self.feats[view] = charngrams.counts(self.texts, view).to_csr()

    def groups(self, rows: np.ndarray) -> list[np.ndarray]:
        """Positions within rows of each set's members."""
        return [np.flatnonzero(self.group[rows] == k) for k in np.unique(self.group[rows])]


def embeddings(name: str, sets: list[Corpus], cache: Path | None) -> np.ndarray:
    """One encoder's embeddings of every set's normalised texts, cached per set."""
    return np.vstack([cached_embeddings(name, [normalize(t) for t in c.texts], ENCODERS[name],
                                        cache, desc=f"{name} {c.key}") for c in sets])


def fit_component(name: str, x: object, y: np.ndarray) -> tuple[object, LogisticRegression]:
    """(idf or None, fitted classifier) of one component."""
    idf = None
    if name in charngrams.VIEWS:
        idf = charngrams.fit_idf(x)
        x = charngrams.tfidf(x, idf).to_csr()
    # A loose tolerance: on 2 shared cores the n-gram fits otherwise take ~10 min each, and the
    # mixer's temperature recalibrates whatever the last digits of convergence change.
    return idf, LogisticRegression(C=C_VALUES[name], max_iter=300, tol=1e-3).fit(x, y)


def component_log_proba(name: str, fitted: tuple, x: object) -> np.ndarray:
    idf, clf = fitted
    if name in charngrams.VIEWS:
        x = charngrams.tfidf(x, idf).to_csr()
    return log_softmax(clf.decision_function(x))


def out_of_fold(data: Data, components: tuple[str, ...],
                among: np.ndarray | None = None) -> list[np.ndarray]:
    """Out-of-fold log-probabilities per component (NaN outside ``among`` where given: folds
    fitted on those rows only): honest inputs for every later choice."""
    among = np.arange(len(data.y)) if among is None else among
    oof = [np.full((len(data.y), len(LABELS)), np.nan) for _ in components]
    strata = data.group[among] * len(LABELS) + data.y[among]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(among, strata)
    for fit_at, held_at in tqdm(list(folds), desc="cross-validation folds"):
        fit_idx, held = among[fit_at], among[held_at]
        for k, name in enumerate(components):
            x = data.feats[name]
            fitted = fit_component(name, x[fit_idx], data.y[fit_idx])
            oof[k][held] = component_log_proba(name, fitted, x[held])
    return oof


def choose_mixer(oof: list[np.ndarray], y: np.ndarray, groups: list[np.ndarray]) -> Mixer:
    """Weights on the simplex and a class bias for macro-F1, then a temperature for log-loss."""
    steps = round(1 / WEIGHT_STEP)
    simplex = [np.array([steps - sum(w), *w]) / steps
               for w in itertools.product(range(steps + 1), repeat=len(oof) - 1)
               if sum(w) <= steps]

    def score(weights: np.ndarray, bias: np.ndarray) -> float:
        mixed = sum(w * lp for w, lp in zip(weights, oof, strict=True)) + bias
        return mean_group_f1(y, mixed.argmax(1), groups)

    zero = np.zeros(len(LABELS))
    weights = max(simplex, key=lambda w: score(w, zero))
    bias = max((np.array([0.0, b1, b2]) for b1 in BIAS_GRID for b2 in BIAS_GRID),
               key=lambda b: score(weights, b))
    mixed = sum(w * lp for w, lp in zip(weights, oof, strict=True)) + bias
    temperature = min(TEMPERATURES, key=lambda t: _log_loss(mixed / t, y))
    return Mixer(weights.astype(np.float32), bias.astype(np.float32), float(temperature))


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    return float(-log_softmax(logits)[np.arange(len(y)), y].mean())


def sentiment_sets(split: str, root: Path = DATA) -> list[Corpus]:
    """The capped parts of one split of every set labelled with sentiment."""
    return [c for c in capped_corpora(root) if c.split == split and c.domain != "complaints"]


def train(out: Path = ARTIFACTS, cache: Path | None = DEFAULT_DIR,
          fast_only: bool = False) -> Ensemble:
    """Fit, select, refit and save the bundled model (without e5 if fast_only); returns it."""
    sets = sentiment_sets("train")
    if not sets:
        raise SystemExit(f"training data not found under {DATA}")
    data = Data(sets, cache, with_e5=not fast_only)
    components = FAST if fast_only else COMPONENTS
    oof = out_of_fold(data, components)
    mixers, ratings = {}, {}
    for tier, names in TIERS.items():
        if not set(names) <= set(components):
            continue
        parts = [oof[components.index(n)] for n in names]
        groups = data.groups(np.arange(len(data.y)))
        mixers[tier] = choose_mixer(parts, data.y, groups)
        logits = mixers[tier].logits(parts)
        ratings[tier] = fit_rating_layer(logits, data.stars, data.y)
        print(f"{tier}: {mixers[tier]} CV mean per-set macro-F1 "
              f"{100 * mean_group_f1(data.y, logits.argmax(1), groups):.2f} on {len(data.y)} rows")
    fitted = {name: fit_component(name, data.feats[name], data.y)
              for name in tqdm(components, desc="final fit")}
    ngram = tuple(charngrams.CharNgramModel(fitted[v][0], _head(fitted[v][1]), v)
                  for v in charngrams.VIEWS)
    e5_head = None if fast_only else _head(fitted["e5"][1])
    ensemble = Ensemble(_head(fitted["use"][1]), ngram, e5_head, mixers, ratings,
                        fit_tweet_expert(data, sets))
    ensemble.save(out, MODEL_ID)
    print(f"saved {MODEL_ID} to {out}; held-out scores: python -m models.sentiment benchmark")
    return ensemble


def fit_tweet_expert(data: Data, sets: list[Corpus]) -> TweetExpert:
    """The views refitted on the tweet sets alone, and the domain head on every row. With e5,
    the full tier's mixer of the four tweet views is chosen on their out-of-fold predictions
    of the tweets (the fast tier keeps 0.3's weights, domains.TWEET_WEIGHTS)."""
    is_review = np.array([sets[g].domain == "reviews" for g in data.group])
    tweets = np.flatnonzero(~is_review)
    components = COMPONENTS if "e5" in data.feats else FAST
    full = None
    if "e5" in data.feats:
        oof = out_of_fold(data, components, among=tweets)
        parts, y, groups = [p[tweets] for p in oof], data.y[tweets], data.groups(tweets)
        full = choose_mixer(parts, y, groups)
        print(f"tweet expert, full: {full} CV mean per-set macro-F1 "
              f"{100 * mean_group_f1(y, full.logits(parts).argmax(1), groups):.2f}")
    fitted = {name: fit_component(name, data.feats[name][tweets], data.y[tweets])
              for name in tqdm(components, desc="tweet expert")}
    ngram = tuple(charngrams.CharNgramModel(fitted[v][0], _head(fitted[v][1]), v)
                  for v in charngrams.VIEWS)
    domain = domain_head(data.feats["use"], is_review.astype(int), data.group)
    e5_head = _head(fitted["e5"][1]) if full is not None else None
    return TweetExpert(_head(fitted["use"][1]), ngram, domain, e5_head, full)


def _head(clf: LogisticRegression) -> LinearHead:
    return LinearHead(clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32))
