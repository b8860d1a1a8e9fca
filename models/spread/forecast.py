"""Forecast the final reach of one mention while it is still small, with reasons."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from models.spread.features import Observation, observe, pseudo_events
from models.spread.kernel import THETA, powerlaw_mass
from models.spread.params import DEFAULT_PATH, Calibrated, HorizonModel, SpreadParams, calibrate

Scenario = Literal["final", "low", "high"]


@dataclass(frozen=True)
class SpreadForecast:
    """Reshares expected by ``horizon_s`` after the post, seen at ``observe_s``.

    ``low``/``high`` bound an interval of probability ``interval`` (0.8: ten percent of cascades
    end below ``low``, ten percent above ``high``). ``exponent`` is the current power-law decay
    of the reshare rate; it shapes the path to ``final`` used by ``seconds_to_threshold``.
    """

    observed: int
    observe_s: float
    final: float
    low: float
    high: float
    interval: float
    horizon_s: float
    exponent: float
    reasons: tuple[str, ...]

    def seconds_to_threshold(self, threshold: float, scenario: Scenario = "final") -> float | None:
        """Seconds after ``observe_s`` until ``threshold`` reshares; None if beyond the horizon.

        The remaining growth is spread over time like the current power-law decay of the rate,
        but never slower than the reaction-time kernel's tail (exponent 1 + THETA): a rate still
        rising in the first minutes does not keep rising for the whole horizon, and assuming so
        would put every crossing days late. ``scenario="high"`` gives the earliest plausible
        time, ``"low"`` the latest.
        """
        target = {"final": self.final, "low": self.low, "high": self.high}[scenario]
        if threshold <= self.observed:
            return 0.0
        if threshold > target:
            return None
        share = (threshold - self.observed) / (target - self.observed)
        exponent = max(self.exponent, 1.0 + THETA)
        total = float(powerlaw_mass(exponent, self.observe_s, self.horizon_s))
        one_minus = 1.0 - exponent
        at = (self.observe_s**one_minus + share * total * one_minus) ** (1.0 / one_minus)
        return float(min(at, self.horizon_s) - self.observe_s)


@lru_cache(maxsize=4)
def load_params(path: str = str(DEFAULT_PATH)) -> SpreadParams:
    """The shipped (or a given) calibration, read once per process."""
    return SpreadParams.load(Path(path))


def forecast_events(
    times: Sequence[float] | np.ndarray,
    followers: Sequence[float] | np.ndarray,
    observe_s: float,
    params: SpreadParams | None = None,
) -> SpreadForecast:
    """Forecast from the full event list: ``times`` in seconds since the original post. Training
    and evaluation only: the product sees engagement polls (:func:`forecast_snapshots`).

    ``times[0]``/``followers[0]`` are the original post and its author's followers; the rest are
    reshares and their authors' followers. Events after ``observe_s`` are ignored.
    """
    params = params or load_params()
    obs = observe(np.asarray(times), np.asarray(followers), observe_s, params.horizon_s)
    return _forecast(obs, params.events, params, ())


def forecast_snapshots(
    snapshots: Sequence[tuple[float, float]],
    author_followers: float,
    observe_s: float | None = None,
    params: SpreadParams | None = None,
) -> SpreadForecast:
    """Forecast from sparse polls: ``snapshots`` are (seconds since the post, reshares so far).

    Only the author's followers are needed; resharers are assumed typical. ``observe_s``
    defaults to the last poll.
    """
    params = params or load_params()
    times, followers = pseudo_events(snapshots, author_followers, params.resharer_followers)
    at = max(t for t, _ in snapshots) if observe_s is None else observe_s
    obs = observe(times, followers, at, params.horizon_s)
    assumed = (f"resharers' followers unknown: each counted as {params.resharer_followers:,.0f} "
               "(typical in training)",)
    return _forecast(obs, params.snapshots, params, assumed)


def _forecast(
    obs: Observation,
    models: tuple[HorizonModel, ...],
    params: SpreadParams,
    extra: tuple[str, ...],
) -> SpreadForecast:
    cal = calibrate(models, obs.features, obs.observe_s)
    base = max(obs.count, 1)
    final, low, high = (max(float(obs.count), base * math.exp(v))
                        for v in (cal.point, cal.low, cal.high))
    return SpreadForecast(
        observed=obs.count,
        observe_s=obs.observe_s,
        final=final,
        low=min(low, final),
        high=max(high, final),
        interval=params.interval,
        horizon_s=params.horizon_s,
        exponent=obs.exponent,
        reasons=_reasons(obs, cal, final, low, high, params) + extra,
    )


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def _reasons(
    obs: Observation, cal: Calibrated, final: float, low: float, high: float, params: SpreadParams
) -> tuple[str, ...]:
    """Plain-language account of the forecast for a support lead."""
    half = _duration(obs.observe_s / 2)
    pace = ("fading slowly, so it keeps growing for days" if obs.exponent < 1.0
            else "fading fast" if obs.exponent > 1.5 else "fading at a typical pace")
    reasons = [
        f"{obs.count:,} reshares in the first {_duration(obs.observe_s)}, "
        f"{obs.recent_count:,} of them in the last {half}",
        f"reshare rate {pace} (decay exponent {obs.exponent:.2f})",
        f"author has {obs.author_followers:,.0f} followers; the last {half} of resharers reach "
        f"{obs.recent_audience:,.0f} more",
        f"expect about {final:,.0f} reshares within {_duration(params.horizon_s)} "
        f"({params.interval:.0%} interval {low:,.0f} to {high:,.0f}), "
        f"x{final / max(obs.count, 1):.1f} the count so far",
    ]
    if cal.extrapolated:
        reasons.append(f"observed for {_duration(obs.observe_s)}, outside the calibrated range: "
                       "less reliable")
    return tuple(reasons)
