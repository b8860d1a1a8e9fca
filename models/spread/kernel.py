"""Self-exciting point-process pieces of SEISMIC (Zhao et al., KDD 2015).

A reshare exposes the resharer's followers; they react after a delay drawn from a human
reaction-time kernel ``phi`` (flat for the first ``S0`` seconds, then a power-law tail). The
infectiousness ``p`` is the expected number of reshares per exposed follower. Everything here is
closed-form so a forecast costs microseconds, not a simulation.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

S0 = 300.0
"""Seconds of the kernel's plateau (SEISMIC's fitted value)."""
THETA = 0.242
"""Power-law tail exponent of the reaction-time kernel (SEISMIC's fitted value)."""
_C0 = THETA / (S0 * (1.0 + THETA))  # plateau height that makes the kernel integrate to 1


def kernel_cdf(u: np.ndarray) -> np.ndarray:
    """Share of a reshare's eventual influence already spent u seconds after it."""
    u = np.maximum(np.asarray(u, dtype=float), 0.0)
    tail = 1.0 - _C0 * S0 / THETA * (np.maximum(u, S0) / S0) ** -THETA
    return np.where(u < S0, _C0 * u, tail)


def _kernel_moment(u: np.ndarray) -> np.ndarray:
    """Integral of s * phi(s) over [0, u]; needed for the triangular-window estimator."""
    u = np.maximum(np.asarray(u, dtype=float), 0.0)
    head = _C0 * np.minimum(u, S0) ** 2 / 2.0
    tail = _C0 * S0 ** (1 + THETA) * (np.maximum(u, S0) ** (1 - THETA) - S0 ** (1 - THETA))
    return head + tail / (1.0 - THETA)


def infectiousness(
    times: np.ndarray,
    followers: np.ndarray,
    at: float,
    min_window: float = 300.0,
    max_window: float = 7200.0,
) -> float:
    """SEISMIC estimate of p at time ``at``: recent reshares over recent exposure.

    A triangular window (width t/2, clipped) weights recent reshares most, so the estimate follows
    a cascade whose appeal fades. ``times[0]``/``followers[0]`` are the original post.
    """
    seen = times <= at
    t, n = times[seen], followers[seen]
    width = max(min(at / 2.0, max_window), min_window)
    reshares = t[1:]
    recent = reshares > at - width
    count = float(np.sum(1.0 - (at - reshares[recent]) / width))
    age = at - t
    start = np.maximum(0.0, age - width)
    spent = kernel_cdf(age) - kernel_cdf(start)
    exposure = (1.0 - age / width) * spent + (_kernel_moment(age) - _kernel_moment(start)) / width
    denominator = float(np.sum(n * exposure))
    return count / denominator if denominator > 0 else 0.0


def remaining_exposure(
    times: np.ndarray, followers: np.ndarray, at: float, horizon: float
) -> float:
    """Follower exposure still to come between ``at`` and ``horizon`` (``np.inf`` for all of it)
    from reshares seen so far."""
    seen = times <= at
    t, n = times[seen], followers[seen]
    return float(np.sum(n * (kernel_cdf(horizon - t) - kernel_cdf(at - t))))


def powerlaw_mass(exponent: float, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Integral of s**-exponent over [start, end] (start > 0): reshares under a power-law rate."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    one_minus = 1.0 - exponent
    if abs(one_minus) < 1e-6:
        return np.log(end / start)
    return start**one_minus * np.expm1(one_minus * np.log(end / start)) / one_minus


EXPONENTS = np.linspace(-0.5, 3.0, 1401)
"""The decay exponents ``rate_decay`` chooses from (steps of 0.0025)."""


@lru_cache(maxsize=8)
def _bin_log_shares(doublings: int) -> np.ndarray:
    """log share of each doubling bin under each exponent of ``EXPONENTS``.

    On bins (a, 2a], (2a, 4a], ... the mass of s**-e grows by 2**(1-e) per bin, whatever a, so
    the shares are a fixed table: the fit is one matrix product instead of an optimiser per
    mention (detection forecasts thousands each cycle).
    """
    log_ratio = (1.0 - EXPONENTS)[:, None] * np.log(2.0) * np.arange(doublings)[None, :]
    return log_ratio - np.logaddexp.reduce(log_ratio, axis=1, keepdims=True)


def rate_decay(reshare_times: np.ndarray, at: float, doublings: int = 3) -> tuple[float, float]:
    """Fit rate(t) = scale * t**-exponent on the last ``doublings`` doublings of time before ``at``.

    Poisson maximum likelihood on counts in (at/8, at/4], (at/4, at/2], (at/2, at]: how fast
    attention is fading *now*, which is what decides how much growth is left. Returns
    (exponent, scale); (1.0, 0.0) when nothing happened in the window.
    """
    edges = at / 2.0 ** np.arange(doublings, -1, -1)
    counts = np.histogram(reshare_times, bins=edges)[0].astype(float)
    total = counts.sum()
    if total == 0:
        return 1.0, 0.0
    exponent = float(EXPONENTS[int(np.argmax(_bin_log_shares(doublings) @ counts))])
    scale = total / float(powerlaw_mass(exponent, edges[0], edges[-1]))
    return exponent, scale
