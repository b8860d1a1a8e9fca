"""Make hostile items storable everywhere without changing what a person reads.

Every field of a collected mention passes here before it is stored (``store_mentions``), so a
NUL in a link, a ten-character language tag or a count past 64 bits costs nothing: PostgreSQL
refuses such values, and one refused row used to fail the whole page with it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace

from monitor.mentions import Engagement, MentionIn

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_TEXT = 200_000
MAX_URL = 4_096
BIGINT = 2**63 - 1
# Column sizes of ``mentions`` (monitor/storage/tables.py).
ID_CHARS, SOURCE_CHARS, BRAND_CHARS, AUTHOR_CHARS = 255, 32, 64, 256


def clean_text(value: str | None, max_chars: int | None = None) -> str:
    """NUL bytes and lone surrogates cannot be stored (PostgreSQL, UTF-8), so they become U+FFFD.

    Everything else (bidi marks, zero-width joiners, markup) is kept as written: it is escaped
    where it is shown, never stripped, so the stored text stays faithful to the source.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFC", _UNSTORABLE.sub("\ufffd", value))
    return text[:max_chars] if max_chars else text


def clean_id(value: str | None, max_chars: int = ID_CHARS) -> str | None:
    """An identifier: no control character, and bounded without losing uniqueness (a longer one
    keeps its start and a hash of the whole)."""
    if value is None:
        return None
    text = _CONTROL.sub("\ufffd", str(value)).strip()
    if len(text) <= max_chars:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{text[: max_chars - 33]}#{digest}"


def clean_url(value: str | None) -> str | None:
    """A link as sent, minus control characters (no browser keeps them), if it fits."""
    if not value:
        return None
    url = _CONTROL.sub("", str(value)).strip()
    return url if url and len(url) <= MAX_URL else None


def clean_language(value: str | None) -> str | None:
    """An ISO 639 code (``fr``, ``pt-BR`` → ``pt``); anything else is unknown."""
    if not value:
        return None
    code = re.split(r"[-_]", _CONTROL.sub("", str(value)).strip().lower(), maxsplit=1)[0]
    return code if _LANGUAGE.match(code) else None


def clean_count(value: object) -> int | None:
    """A count a 64-bit column holds; a negative, huge or non-integer one is unknown."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= BIGINT else None


def _engagement(e: Engagement | None) -> Engagement | None:
    if e is None:
        return None
    counts = (e.likes, e.reshares, e.replies, e.views)
    likes, reshares, replies, views = (clean_count(c) for c in counts)
    return replace(e, likes=likes, reshares=reshares, replies=replies, views=views)


def normalised(m: MentionIn) -> MentionIn:
    """The mention with every field storable: the one place storage cleans what it is given."""
    return replace(
        m,
        source=clean_id(m.source, SOURCE_CHARS) or "",
        external_id=clean_id(m.external_id) or "",
        brand=clean_id(m.brand, BRAND_CHARS) or "",
        text=clean_text(m.text, MAX_TEXT),
        url=clean_url(m.url),
        author=clean_text(m.author, AUTHOR_CHARS) or None,
        author_followers=clean_count(m.author_followers),
        language=clean_language(m.language),
        parent_id=clean_id(m.parent_id),
        thread_id=clean_id(m.thread_id),
        engagement=_engagement(m.engagement),
    )
