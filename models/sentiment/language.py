"""Language identification with a model shipped inside the py3langid wheel (no download)."""

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

UNKNOWN = "und"
# Vigie monitors mostly these languages; a prior toward them settles short, ambiguous mentions
# ("train en retard") that the uniform-prior classifier leaves between related languages.
MONITORED: tuple[str, ...] = ("en", "fr", "nl", "de", "es", "it", "pt")
PRIOR_WEIGHT = 20.0
# Below this posterior the guess is no better than noise (emoji-only text, "lol").
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str:
    """ISO 639-1 code of text, or "und" when there is too little text to tell."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return UNKNOWN
    weighted = {lang: p * (PRIOR_WEIGHT if lang in MONITORED else 1.0)
                for lang, p in _identifier().rank(text)}
    lang = max(weighted, key=weighted.__getitem__)
    confidence = weighted[lang] / sum(weighted.values())
    return lang if confidence >= MIN_CONFIDENCE else UNKNOWN
