"""One palette for the whole dashboard, so a colour means the same thing on every page."""

from __future__ import annotations

SENTIMENT_COLOURS = {
    "negative": "#d1495b",
    "neutral": "#8d99ae",
    "positive": "#2a9d8f",
    "unscored": "#cfd4dc",
}
# Markdown (labels, captions): theme colours set to the same values in .streamlit/config.toml.
SENTIMENT_MD = {
    "negative": ":red[:material/sentiment_dissatisfied:]",
    "neutral": ":gray[:material/sentiment_neutral:]",
    "positive": ":green[:material/sentiment_satisfied:]",
    "unscored": ":gray[:material/hourglass_empty:]",
}
SENTIMENT_BADGES = {"negative": "red", "neutral": "gray", "positive": "green", "unscored": "gray"}
STATE_BADGES = {"new": "red", "assigned": "orange", "answered": "green", "dismissed": "gray"}
STATE_MD = {
    "new": ":red[:material/fiber_new:]",
    "assigned": ":orange[:material/person:]",
    "answered": ":green[:material/check_circle:]",
    "dismissed": ":gray[:material/block:]",
}
STATE_COLOURS = {
    "new": "#d1495b",
    "assigned": "#e09f3e",
    "answered": "#2a9d8f",
    "dismissed": "#8d99ae",
}
BREACH_BACKGROUND = "background-color: rgba(209, 73, 91, 0.14)"
ACCENT = "#3a5a98"


def risk_badge(risk: float) -> str:
    """Badge colour of a 0..1 risk score."""
    if risk >= 0.7:
        return "red"
    if risk >= 0.4:
        return "orange"
    return "blue"
