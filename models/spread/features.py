"""What the forecaster looks at in a cascade observed for ``observe_s`` seconds.

Every feature is scale-free (a ratio to the count so far) on purpose: the training cascades were
all selected for being large, so any absolute-size feature would learn "everything ends near
2,000 reshares" and wildly overpredict a complaint with five reshares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.spread.kernel import infectiousness, powerlaw_mass, rate_decay, remaining_exposure

FEATURES = (
    "seismic", "infectiousness", "exposure", "last_half", "third_quarter", "second_eighth",
    "last_quarter", "exponent", "powerlaw", "author",
)
"""Names of the columns of ``Observation.features``, in order."""
MIN_P = 1e-6
"""Floor of the infectiousness before its log: a silent window must not yield minus infinity."""


@dataclass(frozen=True)
class Observation:
    """A cascade as seen at ``observe_s``: the count, the features and what explains them."""

    observe_s: float
    count: int
    features: np.ndarray
    exponent: float
    author_followers: float
    recent_audience: float
    recent_count: int


def observe(
    times: np.ndarray, followers: np.ndarray, observe_s: float, horizon_s: float
) -> Observation:
    """Features of a cascade known up to ``observe_s`` seconds after its original post.

    ``times[0]``/``followers[0]`` are the original post and its author; the rest are reshares.

    - seismic: SEISMIC's direct reshares still to come, p * N^e, where N^e is the follower
      exposure the reshares seen so far have not yet spent (reaction-time kernel to infinity)
    - infectiousness, exposure: p and N^e separately (their product alone loses information)
    - last_half, third_quarter, second_eighth, last_quarter: reshares in (t/2, t], (t/4, t/2],
      (t/8, t/4] and (3t/4, t], i.e. the shape of the recent rate
    - exponent, powerlaw: the current power-law decay of the reshare rate and the growth it implies
    - author: log followers of the original author
    """
    times = np.asarray(times, dtype=float)
    followers = np.maximum(np.asarray(followers, dtype=float), 1.0)
    if times.size == 0 or times.size != followers.size:
        raise ValueError("times and followers must be non-empty and of equal length")
    order = np.concatenate([[0], 1 + np.argsort(times[1:], kind="stable")])
    times, followers = times[order] - times[0], followers[order]
    seen = times <= observe_s
    reshares = times[seen][1:]
    count = int(reshares.size)
    base = max(count, 1)
    recent = reshares > observe_s / 2
    recent_audience = float(followers[seen][1:][recent].sum())
    p = infectiousness(times, followers, observe_s)
    exposure = remaining_exposure(times, followers, observe_s, np.inf)
    exponent, scale = rate_decay(reshares, observe_s)
    implied = scale * float(powerlaw_mass(exponent, observe_s, horizon_s))
    features = np.concatenate([
        [np.log1p(p * exposure / base), np.log(max(p, MIN_P)), np.log(exposure / base)],
        _window_shares(reshares, observe_s, base),
        [exponent, np.log1p(implied / base), np.log(followers[0])],
    ])
    return Observation(
        observe_s=float(observe_s),
        count=count,
        features=features,
        exponent=exponent,
        author_followers=float(followers[0]),
        recent_audience=recent_audience,
        recent_count=int(recent.sum()),
    )


def _window_shares(reshares: np.ndarray, observe_s: float, base: int) -> np.ndarray:
    """log share of the count so far in each recent window (add-one so empty windows are finite)."""
    windows = ((0.5, 1.0), (0.25, 0.5), (0.125, 0.25), (0.75, 1.0))
    counts = [np.sum((reshares > a * observe_s) & (reshares <= b * observe_s)) for a, b in windows]
    return np.log((np.asarray(counts, dtype=float) + 1.0) / base)


def pseudo_events(
    snapshots: Sequence[tuple[float, float]], author_followers: float, resharer_followers: float
) -> tuple[np.ndarray, np.ndarray]:
    """Event lists from sparse polls: each interval's new reshares spread evenly across it.

    Polling APIs give counts, not events; unknown resharers get the typical follower count seen in
    training, so the same features (and a model fitted on polled training cascades) apply.
    """
    if not snapshots:
        raise ValueError("at least one (seconds, reshares) snapshot is needed")
    polls = np.array(sorted(snapshots), dtype=float)
    if np.any(polls[:, 0] < 0) or np.any(polls[:, 1] < 0):
        raise ValueError("snapshot times and counts must be non-negative")
    at = np.concatenate([[0.0], polls[:, 0]])
    counts = np.concatenate([[0.0], np.maximum.accumulate(np.round(polls[:, 1]))])
    times = [np.zeros(1)]
    for start, end, new in zip(at[:-1], at[1:], np.diff(counts), strict=True):
        k = int(new)
        times.append(start + (end - start) * np.arange(1, k + 1) / k if k else np.empty(0))
    events = np.concatenate(times)
    followers = np.full(events.size, float(resharer_followers))
    followers[0] = max(float(author_followers), 1.0)
    return events, followers
