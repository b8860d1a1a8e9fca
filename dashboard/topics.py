"""Top topics of a period: the terms and term pairs that most mentions share.

Counted per mention (a term repeated in one post counts once). What a term is comes from the one
term engine (:mod:`monitor.terms`): content words of the mention's language only, "app" and
"appli" one term, the brand's own names left out (every mention contains them). A word in more
than half of all mentions is dropped too (which catches glue the lists miss). Terms carried by
exactly the same mentions are one topic said with several words ("wrongful fine although
subscription paid"): only its first pair is kept, so one repeated sentence does not fill the
whole list. Ties keep the order in which terms were first seen, so the same mentions always give
the same topics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

import pandas as pd

from monitor import terms

MAX_SHARE = 0.5
MIN_MENTIONS = 3


def _terms(text: str, language: str | None, ignore: frozenset[str],
           vocabulary: terms.Vocabulary) -> list[str]:
    """Adjacent term pairs, then terms, of one mention, each once, in reading order (pairs
    first: they say more than their words)."""
    kept = [vocabulary.add(w) if w else None for w in terms.reading(text, language, ignore)]
    pairs = [f"{a} {b}" for a, b in pairwise(kept) if a and b]
    return list(dict.fromkeys([*pairs, *(k for k in kept if k)]))


def _shown(term: str, vocabulary: terms.Vocabulary) -> str:
    """A term as people wrote it: its spellings for a word, the usual one of each for a pair."""
    parts = term.split(" ")
    if len(parts) == 1:
        return vocabulary.display(term)
    return " ".join(vocabulary.display(p, 1) for p in parts)


def top_topics(
    texts: Sequence[str], labels: Sequence[str], ignore: Iterable[str], limit: int = 20,
    languages: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """The most shared terms with how many mentions carry them and the share that is negative."""
    ignored = terms.names(ignore)
    vocabulary = terms.Vocabulary()
    langs = languages if languages is not None else [None] * len(texts)
    read = [_terms(t, lang, ignored, vocabulary) for t, lang in zip(texts, langs, strict=True)]
    carriers: dict[str, list[int]] = {}
    negative: Counter[str] = Counter()
    for n, (found, label) in enumerate(zip(read, labels, strict=True)):
        for term in dict.fromkeys(_canonical(t, vocabulary) for t in found):
            carriers.setdefault(term, []).append(n)
            negative[term] += int(label == "negative")
    ceiling = max(MIN_MENTIONS, MAX_SHARE * len(texts))
    common = [
        (t, len(m)) for t, m in _one_per_mention_set(carriers) if MIN_MENTIONS <= len(m) <= ceiling
    ]
    common.sort(key=lambda item: -item[1])  # stable: ties stay in first-seen order
    chosen = _without_redundant_words(common[: limit * 3])[:limit]
    rows = [(_shown(t, vocabulary), n, negative[t] / n) for t, n in chosen]
    return pd.DataFrame(rows, columns=["topic", "mentions", "negative_share"])


def _canonical(term: str, vocabulary: terms.Vocabulary) -> str:
    return " ".join(vocabulary.canonical(k) for k in term.split(" "))


def _one_per_mention_set(carriers: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
    """The first-seen term of each distinct set of mentions: the others repeat it."""
    first: dict[tuple[int, ...], str] = {}
    for term, mentions in carriers.items():
        first.setdefault(tuple(mentions), term)
    return [(term, list(mentions)) for mentions, term in first.items()]


def _without_redundant_words(ranked: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drop a single word when a pair containing it covers most of its mentions."""
    pairs = [(t, n) for t, n in ranked if " " in t]
    covered = {
        word
        for word, count in ranked
        if " " not in word and any(n >= 0.7 * count and word in pair.split() for pair, n in pairs)
    }
    return [(t, n) for t, n in ranked if t not in covered]
