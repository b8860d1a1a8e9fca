"""Make hostile text storable everywhere without changing what a person reads."""

from __future__ import annotations

import re
import unicodedata

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(value: str | None, max_chars: int | None = None) -> str:
    """NUL bytes and lone surrogates cannot be stored (PostgreSQL, UTF-8), so they become U+FFFD.

    Everything else (bidi marks, zero-width joiners, markup) is kept as written: it is escaped
    where it is shown, never stripped, so the stored text stays faithful to the source.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFC", _UNSTORABLE.sub("\ufffd", value))
    return text[:max_chars] if max_chars else text

