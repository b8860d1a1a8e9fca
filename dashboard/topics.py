"""Top topics of a period: the words and word pairs that most mentions share.

Counted per mention (a word repeated in one post counts once), over the languages Vigie watches.
Glue words are dropped twice over: a short multilingual list, and any word that appears in more
than half of all mentions (which catches what the list misses, in any language). The brand's
own names are dropped too: every mention contains them. Terms carried by exactly the same
mentions are one topic said with several words ("wrongful fine although subscription paid"):
only its first pair is kept, so one repeated sentence does not fill the whole list. Ties keep
the order in which terms were first seen, so the same mentions always give the same topics.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import pairwise

import pandas as pd

MAX_SHARE = 0.5
MIN_MENTIONS = 3
_TOKEN = re.compile(r"#?[^\W\d_]{3,}")
_LINK = re.compile(r"https?://\S+|@\w+")

_GLUE_WORDS = """
    the and for you are with this that was have not but just what all from they your our can
    will has had been its out about get there their would why who how one very still again them
    than then when were which also into more some any only over here now did does being les des
    une est pas que qui pour dans avec sur mon mes par vous nous plus mais ont aux ces son
    cette tout tous très encore déjà même été fait elle ils leur sont avoir être sans comme
    alors chez ça cela quand fois bien rien toujours het een van dat die niet met voor zijn
    maar ook nog wel naar bij mijn heb hebben wordt als dan geen over jullie weer echt toch wat
    zo hun ons onze deze dit der das und ist nicht mit für auf den dem ein eine sich von auch
    wie aber noch mein meine ich sie wir ihr uns war hat haben wird werden los las del una por
    con para mis muy pero esta este como más sus che per non della sono mio mia gli nel questo
    não uma com dos das meu muito mas foi
"""
STOPWORDS = frozenset(_GLUE_WORDS.split())


def _terms(text: str, ignore: frozenset[str]) -> list[str]:
    """Adjacent word pairs, then words, of one mention: lowercased, glue words removed, each
    once, in reading order (pairs first: they say more than their words)."""
    words = [w.casefold() for w in _TOKEN.findall(_LINK.sub(" ", text))]
    kept = [w if w not in STOPWORDS and w.lstrip("#") not in ignore else None for w in words]
    pairs = [f"{a} {b}" for a, b in pairwise(kept) if a and b]
    return list(dict.fromkeys([*pairs, *(w for w in kept if w)]))


def top_topics(
    texts: Sequence[str], labels: Sequence[str], ignore: Iterable[str], limit: int = 20
) -> pd.DataFrame:
    """The most shared terms with how many mentions carry them and the share that is negative."""
    ignored = frozenset(t.casefold().lstrip("@#") for t in ignore)
    carriers: dict[str, list[int]] = {}
    negative: Counter[str] = Counter()
    for n, (text, label) in enumerate(zip(texts, labels, strict=True)):
        for term in _terms(text, ignored):
            carriers.setdefault(term, []).append(n)
            negative[term] += int(label == "negative")
    ceiling = max(MIN_MENTIONS, MAX_SHARE * len(texts))
    common = [
        (t, len(m)) for t, m in _one_per_mention_set(carriers) if MIN_MENTIONS <= len(m) <= ceiling
    ]
    common.sort(key=lambda item: -item[1])  # stable: ties stay in first-seen order
    chosen = _without_redundant_words(common[: limit * 3])[:limit]
    rows = [(t, n, negative[t] / n) for t, n in chosen]
    return pd.DataFrame(rows, columns=["topic", "mentions", "negative_share"])


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
