"""Showing strangers' text safely: Markdown that stays literal, CSV cells that stay data in a
spreadsheet, and no bidirectional overrides, which can make a text read differently from what it
says ("Trojan source"). Which links may be clicked is :func:`monitor.display.safe_url`."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from monitor.display import printable

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=\"'&%^])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain(text: Any) -> Any:
    """Text as it may be shown (in a table cell, a label): without bidi overrides or controls.
    Anything that is not a string is returned as it is."""
    return printable(text) if isinstance(text, str) else text


def typed(value: Any, max_chars: int = 500) -> str:
    """What a visitor typed, fit for a query: without control characters (a NUL makes PostgreSQL
    fail the whole page) or bidi overrides, and bounded. Anything but a string is empty."""
    return plain(value).strip()[:max_chars] if isinstance(value, str) else ""


def md(text: str | None) -> str:
    """Markdown that shows ``text`` literally: no formatting, links, HTML, LaTeX, icons or bidi
    overrides."""
    if not text:
        return ""
    escaped = _MD_SPECIAL.sub(r"\\\1", plain(text))
    return "  \n".join(line.strip() for line in escaped.splitlines())


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for a spreadsheet: cells that would start a formula are quoted with a leading '."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return safe.to_csv(index=False).encode("utf-8")
