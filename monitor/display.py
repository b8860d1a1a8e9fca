"""How values reach people, decided once for alerts, reports and the dashboard.

Mention URLs come from strangers: whether one may become a link is one rule, applied by every
renderer before it escapes the URL for its own format. Durations read the same in an alert, the
weekly report and on every dashboard page.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
DASH = "–"
# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and control characters
# other than newline and tab: they reorder or hide what is shown, or drive a terminal (ESC), and
# say nothing themselves.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text as it may be shown (a page, a plain-text email): without bidi overrides or control
    characters. Stored text keeps them; this is for where it is read."""
    return _INVISIBLE.sub("", text)


def _invisible_or_blank(char: str) -> bool:
    """Whitespace, control, format (bidi, zero-width) and unassigned characters."""
    return char == "\\" or unicodedata.category(char)[0] in "CZ"


def safe_url(url: Any) -> str | None:
    """The URL, trimmed, if it may become a link people click; else None (never an exception).

    Only absolute http(s) URLs that name a host: never ``javascript:`` or ``data:``. Refused too:
    user or password before the host (``https://bank.example@evil.example`` reads as one host
    and opens another), and any blank, control, bidi or backslash character, which browsers and
    mail clients strip or rewrite, so the link would not open what it shows.
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(_invisible_or_blank(char) for char in url):
        return None
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # both raise on a malformed host or port
    except ValueError:
        return None
    if parts.scheme not in WEB_SCHEMES or not host or "@" in parts.netloc:
        return None
    return url


def duration(minutes: float | None) -> str:
    """A span readable at a glance: ``under 1 min``, ``45 min``, ``3 h 05``, ``2 d 4 h``; a dash
    when unknown (None or NaN, as pandas hands missing values)."""
    if minutes is None or math.isnan(minutes):
        return DASH
    if minutes < 1:
        return "under 1 min"
    total = round(minutes)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 24:
        return f"{hours} h {mins:02d}" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
