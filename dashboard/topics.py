"""Top topics of a period: the words and word pairs that most mentions share.

Counted per mention (a word repeated in one post counts once), over the languages Vigie watches.
Glue words are dropped twice over: a short multilingual list, and any word that appears in more
than half of all mentions (which catches what the list misses, in any language). The brand's
own names are dropped too: every mention contains them.
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


def _terms(text: str, ignore: frozenset[str]) -> set[str]:
    """Words and adjacent word pairs of one mention, lowercased, glue words removed."""
    words = [w.casefold() for w in _TOKEN.findall(_LINK.sub(" ", text))]
    kept = [w if w not in STOPWORDS and w.lstrip("#") not in ignore else None for w in words]
    pairs = {f"{a} {b}" for a, b in pairwise(kept) if a and b}
    return {w for w in kept if w} | pairs


def top_topics(
    texts: Sequence[str], labels: Sequence[str], ignore: Iterable[str], limit: int = 20
) -> pd.DataFrame:
    """The most shared terms with how many mentions carry them and the share that is negative."""
    ignored = frozenset(t.casefold().lstrip("@#") for t in ignore)
    seen: Counter[str] = Counter()
    negative: Counter[str] = Counter()
    for text, label in zip(texts, labels, strict=True):
        terms = _terms(text, ignored)
        seen.update(terms)
        if label == "negative":
            negative.update(terms)
    ceiling = max(MIN_MENTIONS, MAX_SHARE * len(texts))
    common = [(t, n) for t, n in seen.most_common() if MIN_MENTIONS <= n <= ceiling]
    chosen = _without_redundant_words(common[: limit * 3])[:limit]
    rows = [(t, n, negative[t] / n) for t, n in chosen]
    return pd.DataFrame(rows, columns=["topic", "mentions", "negative_share"])


def _without_redundant_words(ranked: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Drop a single word when a pair containing it covers most of its mentions."""
    pairs = [(t, n) for t, n in ranked if " " in t]
    covered = {
        word
        for word, count in ranked
        if " " not in word and any(n >= 0.7 * count and word in pair.split() for pair, n in pairs)
    }
    return [(t, n) for t, n in ranked if t not in covered]
