"""Text hygiene shared by training and inference, so both see the same input."""

import re
import unicodedata

MAX_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# "RT @someone: " prefixes: a retweet reads like its original and should be scored once with it.
_RETWEET = re.compile(r"^(?:RT\s+@user:?\s*)+")


def sanitize(text: str) -> str:
    """Make hostile text safe for tokenizers: no lone surrogates, control or bidi characters.

    Mentions are capped at MAX_CHARS because sentiment is decided early in a text and a 100 KB
    paste would otherwise dominate a batch's cost.
    """
    text = text[:MAX_CHARS].encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


def normalize(text: str) -> str:
    """Sanitize and mask handles and links the way the XLM-T training tweets are masked."""
    return _RETWEET.sub("", _URL.sub("http", _HANDLE.sub("@user", sanitize(text))))
