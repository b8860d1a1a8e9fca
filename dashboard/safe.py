"""Showing strangers' text safely: Markdown that stays literal, links that stay http(s),
CSV cells that stay data in a spreadsheet."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=\"'&%^])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def md(text: str | None) -> str:
    """Markdown that shows ``text`` literally: no formatting, links, HTML, LaTeX or icons."""
    if not text:
        return ""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    return "  \n".join(line.strip() for line in escaped.splitlines())


def safe_url(url: Any) -> str | None:
    """A link worth opening: http(s) only, so ``javascript:`` and ``data:`` never get a click."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    return url if re.match(r"^https?://[^\s/$.?#][^\s]*$", url, re.IGNORECASE) else None


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV for a spreadsheet: cells that would start a formula are quoted with a leading '."""
    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
            )
    return safe.to_csv(index=False).encode("utf-8")
