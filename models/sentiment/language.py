"""Language identification with a model shipped inside the py3langid wheel (no download)."""

import io
import lzma
from array import array
from functools import lru_cache

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from models.sentiment.cache import cached_arrays

UNKNOWN = "und"
# Vigie monitors mostly these languages; a prior toward them settles short, ambiguous mentions
# ("train en retard") that the uniform-prior classifier leaves between related languages.
MONITORED: tuple[str, ...] = ("en", "fr", "nl", "de", "es", "it", "pt")
PRIOR_WEIGHT = 20.0
# Below this posterior the guess is no better than noise (emoji-only text, "lol").
MIN_CONFIDENCE = 0.5
MIN_LETTERS = 3


def _decompressed() -> dict[str, np.ndarray]:
    """The wheel's model arrays (an LZMA-compressed npz, ~0.6 CPU-s to decompress)."""
    with lzma.open(MODEL_DIR / MODEL_FILE) as f, np.load(io.BytesIO(f.read())) as z:
        return {key: z[key] for key in z.files}


def _array(values: np.ndarray) -> array:
    """The stdlib array py3langid's DFA walks (it indexes per byte; numpy would be slow)."""
    out = array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize])
    out.frombytes(np.ascontiguousarray(values).tobytes())
    return out


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    """py3langid's identifier, built from a cached uncompressed copy of its model as
    ``LanguageIdentifier.from_model_file`` builds it from the compressed one."""
    m = cached_arrays(MODEL_DIR / MODEL_FILE, "langid", _decompressed)
    return LanguageIdentifier(m["ptc"], m["pc"], m["classes"].tolist(), _array(m["nextmove"]),
                              m["out_feat"].tolist(), norm_probs=True,
                              tk_row=_array(m["nextmove_row"]))


def detect(text: str) -> str:
    """ISO 639-1 code of text, or "und" when there is too little text to tell."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return UNKNOWN
    weighted = {lang: p * (PRIOR_WEIGHT if lang in MONITORED else 1.0)
                for lang, p in _identifier().rank(text)}
    lang = max(weighted, key=weighted.__getitem__)
    confidence = weighted[lang] / sum(weighted.values())
    return lang if confidence >= MIN_CONFIDENCE else UNKNOWN
