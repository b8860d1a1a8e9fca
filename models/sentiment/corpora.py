"""Every labelled set in ../shared/data, with one train / held-out split each.

Training (`models.sentiment.train`, `models.complaints.train`) and the `benchmark` command read
the same splits, so a held-out row is never trained on: XLM-T and Allociné keep their own
val / dev splits; the sets that ship without one are split by a hash of the normalised text
(HELD_OUT of it held out), so duplicates and near-copies that normalise alike always land on the
same side. Texts stay in ../shared; nothing is copied into the project.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.sentiment.data import REPO_ROOT, XLMT_LANGUAGES, read_tsv
from models.sentiment.text import normalize

DATA = REPO_ROOT.parent / "shared" / "data"
HELD_OUT = 0.2
GOOGLEPLAY_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "pt", "nl")


@dataclass(frozen=True)
class Corpus:
    """One labelled set in one language and its split; ``stars`` is 0 where unknown."""

    name: str
    domain: str  # tweets, reviews or complaints: the benchmark prints one table per domain
    language: str
    split: str  # "train" or "val" (held out)
    texts: list[str]
    labels: list[str]  # negative / neutral / positive, or complaint / not_complaint
    stars: np.ndarray

    @property
    def key(self) -> str:
        return f"{self.name}/{self.language}/{self.split}"

    def take(self, keep: np.ndarray) -> Corpus:
        """The rows where keep is True (or at the given indices)."""
        idx = np.flatnonzero(keep) if keep.dtype == bool else keep
        return Corpus(self.name, self.domain, self.language, self.split,
                      [self.texts[i] for i in idx], [self.labels[i] for i in idx],
                      self.stars[idx])


def held_out(texts: list[str], share: float = HELD_OUT) -> np.ndarray:
    """True for the rows held out: a stable hash of the normalised text below ``share``."""
    digest = (hashlib.sha1(normalize(t).lower().encode("utf-8", "replace")).digest()[:8]
              for t in texts)
    return np.array([int.from_bytes(d, "big") / 2 ** 64 < share for d in digest], dtype=bool)


def read_stars_tsv(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(texts, labels, stars) of a `stars<TAB>label<TAB>text` file (stars 0 where empty)."""
    texts, labels, stars = [], [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows, None)
        for row in rows:
            if len(row) < 3:
                continue
            stars.append(int(row[0]) if row[0].strip().isdigit() else 0)
            labels.append(row[1].strip().lower())
            texts.append("\t".join(row[2:]))
    return texts, labels, np.array(stars, dtype=np.int64)


def _split(name: str, domain: str, lang: str, texts: list[str], labels: list[str],
           stars: np.ndarray | None = None) -> Iterator[Corpus]:
    stars = np.zeros(len(texts), dtype=np.int64) if stars is None else stars
    whole = Corpus(name, domain, lang, "train", texts, labels, stars)
    held = held_out(texts)
    yield whole.take(~held)
    yield replace(whole.take(held), split="val")


def _allocine(path: Path, split: str) -> Corpus:
    """Allociné has no header: `1<TAB>text` is positive, `0<TAB>text` negative."""
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, sep, text = line.partition("\t")
        if sep and label.strip() in ("0", "1"):
            labels.append("positive" if label.strip() == "1" else "negative")
            texts.append(text)
    return Corpus("allocine", "reviews", "fr", split, texts, labels,
                  np.zeros(len(texts), dtype=np.int64))


def corpora(root: Path = DATA) -> Iterator[Corpus]:
    """Every set found under root, train and held-out parts; absent files are skipped."""
    senti = root / "sentiment"
    for lang in XLMT_LANGUAGES:
        for split in ("train", "val"):
            path = senti / "xlmt" / f"{lang}-{split}.tsv"
            if path.is_file():
                labels, texts = read_tsv(path)
                yield Corpus("xlmt", "tweets", lang, split, texts, labels,
                             np.zeros(len(texts), dtype=np.int64))
    for name, domain in (("political-tweets", "tweets"), ("semeval16-restaurants", "reviews")):
        path = senti / "nl" / f"{name}-train.tsv"
        if path.is_file():
            labels, texts = read_tsv(path)
            yield from _split(name, domain, "nl", texts, labels)
    for split, file in (("train", "train.tsv"), ("val", "dev.tsv")):
        if (senti / "allocine" / file).is_file():
            yield _allocine(senti / "allocine" / file, split)
    yield from _reviews(root / "reviews")
    cesamard = root / "complaints" / "cesamard-amazon-in-reviews.tsv"
    if cesamard.is_file():
        labels, texts = read_tsv(cesamard)
        yield from _split("cesamard", "complaints", "en",
                          [t.replace("\\n", " ") for t in texts], labels)


def _reviews(root: Path) -> Iterator[Corpus]:
    for lang in GOOGLEPLAY_LANGUAGES:
        path = root / "googleplay-covid-apps" / f"{lang}-train.tsv"
        if path.is_file():
            yield from _split("googleplay", "reviews", lang, *read_stars_tsv(path))
    for name, lang in (("fr-insurance", "fr"), ("fr-trustpilot-shops", "fr"),
                       ("de-germeval2017-db", "de")):
        path = root / name / f"{lang}.tsv"
        if path.is_file():
            yield from _split(name.removeprefix(f"{lang}-"), "reviews", lang,
                              *read_stars_tsv(path))


def capped_index(corpus: Corpus, cap: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of at most ``cap`` rows, drawn evenly over labels (and stars) so rare
    classes survive."""
    if len(corpus.texts) <= cap:
        return np.arange(len(corpus.texts))
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (label, star) in enumerate(zip(corpus.labels, corpus.stars, strict=True)):
        groups.setdefault((label, int(star)), []).append(i)
    quota, chosen = cap // len(groups), []
    for members in sorted(groups.values(), key=len):
        chosen += rng.choice(members, min(len(members), quota), replace=False).tolist()
    rest = np.setdiff1d(np.arange(len(corpus.texts)), chosen)
    chosen += rng.choice(rest, cap - len(chosen), replace=False).tolist()
    return np.sort(np.array(chosen))


def sample(corpus: Corpus, cap: int, seed: int = 0) -> Corpus:
    """At most ``cap`` rows drawn uniformly (seeded): held-out scores keep the set's own class
    balance, unlike ``capped``'s label-balanced draw for training."""
    if len(corpus.texts) <= cap:
        return corpus
    keep = np.sort(np.random.default_rng(seed).choice(len(corpus.texts), cap, replace=False))
    return corpus.take(keep)


def capped(corpus: Corpus, cap: int, seed: int = 0) -> Corpus:
    """At most ``cap`` rows of corpus (``capped_index``)."""
    return corpus.take(capped_index(corpus, cap, seed))


# Rows per set and split used for training and the benchmark: enough for the rare classes of the
# big review sets, small enough to embed on 2 shared cores.
TRAIN_CAP = 2500
VAL_CAP = 1200


def capped_corpora(root: Path = DATA, train_cap: int = TRAIN_CAP,
                   val_cap: int = VAL_CAP) -> list[Corpus]:
    """Every set's train part (at most train_cap rows) and held-out part (at most val_cap)."""
    return [capped(c, train_cap if c.split == "train" else val_cap) for c in corpora(root)]
