"""Read retweet cascades in the SEISMIC/TiDeH text format.

First line ``<final count> <start time, days>``; then ``<seconds since the post> <followers>``
per event, the first event being the original post.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Cascade:
    """One cascade: ``final`` reshares in the end; events as parallel arrays."""

    name: str
    final: int
    start_day: float
    times: np.ndarray
    followers: np.ndarray


def read_cascade(path: Path) -> Cascade:
    """Parse one file; a malformed one raises ValueError naming the file and line."""
    lines = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [row for row in lines if row]
    try:
        final, start_day = int(rows[0][0]), float(rows[0][1])
        events = np.array([(float(r[0]), float(r[1])) for r in rows[1:]], dtype=float)
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: not a cascade file ({exc})") from exc
    if events.ndim != 2 or len(events) == 0:
        raise ValueError(f"{path}: no events")
    return Cascade(path.stem, final, start_day, events[:, 0], events[:, 1])


def read_cascades(directory: Path) -> list[Cascade]:
    """All ``*.txt`` cascades of a folder, in name order (so folds are reproducible)."""
    paths = sorted(directory.glob("*.txt"))
    if not paths:
        raise ValueError(f"{directory}: no *.txt cascade files")
    return [read_cascade(p) for p in paths]
