"""Terms: the one place that says which words of a mention carry meaning, and which words are one.

Every stage that names what people talk about uses it: incident titles (detection), the weekly
report's complaint topics, the dashboard's Trends topics. A term is a content word of three or
more letters, outside links and handles, that is not a stop word of the mention's language (the
stop-word lists of the seven languages Vigie reads, plus fillers those lists miss); a mention of
no stored language is identified first, and one in none of the seven is read against all seven
lists. Words are one term when they share a key:
casefolded, accents dropped, a plural ending dropped ("storingen" / "storing", "fines" /
"fine"), and a clipped form joined to its full one when both occur ("app" / "appli" /
"application"). Across languages, :func:`themes` joins terms whose meanings are close with a
multilingual embedding ("boete / amende / fine").
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from stop_words import LANGUAGE_MAPPING, get_stop_words

LANGUAGES = ("en", "fr", "nl", "de", "es", "it", "pt")
_FILLERS = """
    http https www com amp lol thanks thank please hello merci bonjour svp stp bedankt alsjeblieft
    danke bitte gracias grazie obrigado weer echt gewoon heel zeer keer gaat even allemaal
    vraiment juste encore déjà fois rien voilà bref quand même jusqu lorsqu puisqu quelqu
    aujourd wirklich einfach schon immer
    mal nur really still again just even also yet well
"""
FILLERS = frozenset(_FILLERS.split())
"""Words that name nothing in any of the languages, which the published stop lists miss."""
_CONTENT = """
    work works working worked open opens opened problem problems down help use used call fix
    stop stopped full empty free order show turn end
"""
CONTENT = frozenset(_CONTENT.split())
"""Words the published English list counts as stop words that say what a complaint is about
("does not work", "won't open", "site down")."""
_TOKEN = re.compile(r"[^\W\d_]{3,}")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|(?<![\w@])[@#]\w+", re.IGNORECASE)
_PLURAL_MIN = 5
CLIP_GAP = 2
"""A clipped form is at least this many letters shorter than the word it stands for ("app" for
"appli"), so that "car" never joins "card"."""


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Casefolded, accents dropped: "Déjà" and "deja" are one spelling."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def stop_words(language: str | None) -> frozenset[str]:
    """The folded stop words of a language (all seven languages' when unknown) and fillers."""
    languages = [language] if language in LANGUAGES else LANGUAGES
    listed = [w for lang in languages for w in get_stop_words(LANGUAGE_MAPPING[lang])]
    found = {fold(t) for w in listed for t in _TOKEN.findall(w)}  # "jusqu'" reads as "jusqu"
    return frozenset((found - CONTENT) | {fold(w) for w in FILLERS})


def key(word: str) -> str:
    """The key of a word: folded, a plural ending dropped ("-s", Dutch/German "-en")."""
    folded = fold(word)
    if len(folded) >= 7 and folded.endswith("en") and folded[-3] not in "aeiou":
        return folded[:-2]
    if len(folded) >= _PLURAL_MIN and folded.endswith("s") and folded[-2] not in "su":
        return folded[:-1]
    return folded


def reading(text: str, language: str | None = None, ignore: Iterable[str] = ()) -> list[str | None]:
    """A text's words in reading order, casefolded, None where a stop word (or an ``ignore``d
    folded word, such as the brand's own names) was: what tells adjacent content words. A text
    of unknown language is identified first ("fine" is a stop word in Italian only)."""
    return list(_reading(text, language, frozenset(fold(w) for w in ignore)))


@lru_cache(maxsize=50_000)
def _reading(text: str, language: str | None, ignored: frozenset[str]) -> tuple[str | None, ...]:
    """Cached: each detection cycle reads the same recent complaints again."""
    if language is None:
        from models.sentiment.language import detect

        language = detect(text)
    stop = stop_words(language)
    found = [w.casefold() for w in _TOKEN.findall(_NOISE.sub(" ", text))]
    return tuple(None if fold(w) in stop or fold(w) in ignored else w for w in found)


def words(text: str, language: str | None = None, ignore: Iterable[str] = ()) -> list[str]:
    """The content words of a text in reading order, casefolded."""
    return [w for w in reading(text, language, ignore) if w]


def names(ignore: Iterable[str]) -> frozenset[str]:
    """The folded words of names and handles ("@Parkeo_BE" gives "parkeo_be" and "parkeo")."""
    out = set()
    for name in ignore:
        out.add(fold(name.lstrip("@#")))
        out.update(fold(w) for w in _TOKEN.findall(name))
    return frozenset(out)


class Vocabulary:
    """Surface forms seen per key, and the clipped keys joined to their full ones."""

    def __init__(self) -> None:
        self.forms: dict[str, Counter[str]] = {}
        self._joined: dict[str, str] | None = None

    def add(self, word: str) -> str:
        self._joined = None
        k = key(word)
        self.forms.setdefault(k, Counter())[word] += 1
        return k

    def canonical(self, k: str) -> str:
        """The key a key counts as: its full form when it is a clipped one ("app" -> "appli")."""
        if self._joined is None:
            self._joined = _clippings(self.forms)
        return self._joined.get(k, k)

    def display(self, k: str, limit: int = 2) -> str:
        """The most used spellings of a term: "app / appli"."""
        merged: Counter[str] = Counter()
        for other, forms in self.forms.items():
            if other == k or self.canonical(other) == k:
                merged.update(forms)
        return " / ".join(w for w, _ in merged.most_common(limit)) or k


def _clippings(forms: dict[str, Counter[str]]) -> dict[str, str]:
    """Each key that is the clipped form of others, to the most used of those."""
    ordered = sorted(forms)
    joined = {}
    for i, short in enumerate(ordered):
        longer = []
        for other in ordered[i + 1:]:
            if not other.startswith(short):
                break
            if len(other) - len(short) >= CLIP_GAP:
                longer.append(other)
        if longer:
            joined[short] = max(longer, key=lambda k: (sum(forms[k].values()), k))
    for short, full in list(joined.items()):  # app -> appli -> application: one step
        while full in joined:
            full = joined[full]
        joined[short] = full
    return joined


def document_keys(texts: Sequence[str], languages: Sequence[str | None] | None,
                  ignore: Iterable[str], vocabulary: Vocabulary) -> list[list[str]]:
    """Each text's term keys in reading order (clipped forms joined), filling ``vocabulary``."""
    ignored = names(ignore)
    langs = languages if languages is not None else [None] * len(texts)
    raw = [[vocabulary.add(w) for w in words(t, lang, ignored)]
           for t, lang in zip(texts, langs, strict=True)]
    return [[vocabulary.canonical(k) for k in doc] for doc in raw]


@dataclass(frozen=True, slots=True)
class Theme:
    """A term (or several terms meaning the same across languages) and its weight."""

    forms: tuple[str, ...]
    score: float
    share: float  # of the members that carry it

    @property
    def name(self) -> str:
        return " / ".join(self.forms)


MIN_SHARE = 0.2
MAX_CANDIDATES = 80
THEME_SIMILARITY = 0.33
THEME_FLOOR = 0.3
"""Two terms are one theme across languages from this cosine similarity of their embeddings
(each embedded doubled, "boete boete": a lone word embeds poorly), as long as every pair of the
theme stays above the floor."""
SHARE_PENALTY = 0.1
TOGETHER = 0.3
"""Terms carried together by this share of the rarer one's mentions are not synonyms (a French
complaint says "amende" and "payé", never "amende" and "fine"): never one theme."""


def characteristic(
    members: Sequence[str], member_languages: Sequence[str | None],
    background: Sequence[str], background_languages: Sequence[str | None],
    ignore: Iterable[str], embed: Callable[[list[str]], np.ndarray] | None = None,
    limit: int = 6,
) -> list[Theme]:
    """The themes frequent among ``members`` and rare in ``background`` (a KL-style score),
    terms of one meaning across languages joined when ``embed`` is given."""
    vocabulary = Vocabulary()
    inside = [set(d) for d in document_keys(members, member_languages, ignore, vocabulary)]
    outside = [set(d) for d in document_keys(background, background_languages, ignore,
                                              vocabulary)]
    df_in = Counter(k for doc in inside for k in doc)
    n_in, n_out = max(len(inside), 1), max(len(outside), 1)
    candidates = [k for k, n in df_in.most_common(MAX_CANDIDATES) if n / n_in >= MIN_SHARE / 2]
    carriers = {k: {i for i, doc in enumerate(inside) if k in doc} for k in candidates}
    spoken = {k: Counter(member_languages[i] for i in carriers[k]).most_common(1)[0][0]
              for k in candidates}
    per_language = Counter(member_languages)
    share = np.array([len(carriers[k]) / max(per_language[spoken[k]], 1) for k in candidates])
    groups = (themes(candidates, carriers, spoken, share, vocabulary, embed) if embed
              else [[k] for k in candidates])
    scored = []
    for group in groups:
        p_in = len(set().union(*(carriers[k] for k in group))) / n_in
        p_out = (sum(1 for doc in outside if doc.intersection(group)) + 0.5) / (n_out + 1)
        if p_in >= MIN_SHARE and p_in > p_out:
            forms = tuple(dict.fromkeys(vocabulary.display(k, 1) for k in group))
            scored.append(Theme(forms[:3], round(p_in * float(np.log(p_in / p_out)), 3),
                                round(p_in, 3)))
    scored.sort(key=lambda t: (-t.score, t.forms))
    return scored[:limit]


def themes(keys: list[str], carriers: dict[str, set[int]], spoken: dict[str, str | None],
           share: np.ndarray, vocabulary: Vocabulary,
           embed: Callable[[list[str]], np.ndarray]) -> list[list[str]]:
    """Keys grouped by meaning across languages, most similar pairs first (each group in
    ``keys`` order). Translations hold the same share of their own language's mentions
    ("boete" in every Dutch complaint, "amende" in most French ones), so a gap in ``share``
    lowers a pair's similarity by ``SHARE_PENALTY`` per unit. Joined from ``THEME_SIMILARITY``
    when every pair stays above
    ``THEME_FLOOR``, is mostly written in two different languages (``spoken``: within one
    language two words are two things) and is not carried together by the same mentions."""
    if not keys:
        return []
    shown = [vocabulary.display(k, 1) for k in keys]
    vectors = embed([f"{w} {w}" for w in shown])
    sims = vectors @ vectors.T
    matched = sims - SHARE_PENALTY * np.abs(share[:, None] - share[None, :])
    group = list(range(len(keys)))
    pairs = sorted(((float(matched[i, j]), i, j) for i in range(len(keys))
                    for j in range(i + 1, len(keys))), reverse=True)
    for sim, i, j in pairs:
        if sim < THEME_SIMILARITY:
            break
        a, b = group[i], group[j]
        left = [n for n in range(len(keys)) if group[n] == a]
        right = [n for n in range(len(keys)) if group[n] == b]
        if a != b and all(sims[x, y] >= THEME_FLOOR and _apart(keys[x], keys[y], carriers, spoken)
                          for x in left for y in right):
            group = [a if g == b else g for g in group]
    ordered: dict[int, list[str]] = {}
    for n, k in enumerate(keys):
        ordered.setdefault(group[n], []).append(k)
    return list(ordered.values())


def _apart(a: str, b: str, carriers: dict[str, set[int]], spoken: dict[str, str | None]) -> bool:
    """Whether two terms can be translations: different languages, rarely in one mention."""
    if spoken[a] is not None and spoken[a] == spoken[b]:
        return False
    both = len(carriers[a] & carriers[b])
    return both < TOGETHER * max(min(len(carriers[a]), len(carriers[b])), 1)
