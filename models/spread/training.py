"""Fit the forecaster's calibration on cascades, and measure it honestly (leave-one-out).

Reproduce the shipped parameters with ``python -m models.spread fit ../shared/data/cascades/tideh``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.linear_model import HuberRegressor

from models.spread.cascades import Cascade
from models.spread.features import Observation, observe, pseudo_events
from models.spread.forecast import SpreadForecast, forecast_events, forecast_snapshots
from models.spread.params import HorizonModel, SpreadParams, baseline_ratio, linear_log_ratio

OBSERVE_GRID = (300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0)
HORIZON_S = 7 * 86400.0
"""Forecast horizon: the training cascades' final counts are taken about a week after the post."""
POLL_S = 300.0
INTERVAL = 0.8
INNER_FOLDS = 5
PENALTIES = (0.1, 1.0, 10.0, 100.0, 1000.0)
NAIVE = -1.0
"""Key of the no-feature candidate: when features do not help out of fold, none are used."""
POOL = {"events": (1.0,), "snapshots": (0.5, 1.0, 2.0)}
"""Observation times (multiples of the grid time) whose rows train each variant's model.

Polled features are smooth in the cascade's age, so the snapshot model at t also learns from the
same cascades seen at t/2 and 2t: three times the rows for the same few coefficients, which is
what keeps it ahead of the plain multiplier (fitted on rows at t alone it fell behind it at 1 h,
leave-one-out). Event features are not: pooling them did not help, so that model uses t only.
"""
Variant = Literal["events", "snapshots"]


def polls(cascade: Cascade, observe_s: float, poll_s: float) -> list[tuple[float, float]]:
    """What a poller calling every ``poll_s`` seconds would have seen by ``observe_s``."""
    at = np.append(np.arange(poll_s, observe_s, poll_s), observe_s)
    counts = np.searchsorted(np.sort(cascade.times[1:]), at, side="right")
    return [(float(t), float(c)) for t, c in zip(at, counts, strict=True)]


def typical_followers(cascades: Sequence[Cascade]) -> float:
    """Median followers of a resharer: the stand-in when a poller cannot see who reshared."""
    return float(np.median(np.concatenate([c.followers[1:] for c in cascades])))


def observation(
    cascade: Cascade, observe_s: float, variant: Variant, resharer_followers: float, poll_s: float
) -> Observation:
    if variant == "events":
        return observe(cascade.times, cascade.followers, observe_s, HORIZON_S)
    times, followers = pseudo_events(
        polls(cascade, observe_s, poll_s), cascade.followers[0], resharer_followers
    )
    return observe(times, followers, observe_s, HORIZON_S)


def feature_table(
    cascades: Sequence[Cascade],
    observe_s: float,
    variant: Variant,
    resharer_followers: float,
    poll_s: float = POLL_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Features and counts so far, one row per cascade."""
    seen = [observation(c, observe_s, variant, resharer_followers, poll_s) for c in cascades]
    return np.array([o.features for o in seen]), np.array([o.count for o in seen], dtype=float)


def _pooled_tables(
    cascades: Sequence[Cascade], observe_s: float, variant: Variant, typical: float, poll_s: float
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Features and counts at ``observe_s``, and (features, counts) at its ``POOL`` times."""
    x, counts = feature_table(cascades, observe_s, variant, typical, poll_s)
    pooled = [feature_table(cascades, observe_s * m, variant, typical, poll_s)
              for m in POOL[variant] if m != 1.0]
    return x, counts, pooled


CLIP = (5.0, 95.0)
"""Percentiles of the training features a model is fitted and applied within (winsorised)."""


@dataclass(frozen=True)
class Fit:
    """A linear model of standardised features, flat outside the range it was fitted on."""

    low: np.ndarray
    high: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float


def _regress(x: np.ndarray, y: np.ndarray, penalty: float) -> Fit:
    """Huber regression on winsorised, standardised features.

    Huber: robust to the few cascades reignited late. Winsorised: every training cascade is a
    large one, mostly from large accounts, so a feature far outside that range (a complaint by
    someone with 50 followers) must not be extrapolated linearly into a forecast 40x too high.
    """
    low, high = np.percentile(x, CLIP, axis=0)
    x = np.clip(x, low, high)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = HuberRegressor(alpha=penalty, epsilon=1.35, max_iter=1000).fit((x - mean) / scale, y)
    return Fit(low, high, mean, scale, model.coef_, float(model.intercept_))


def _constant(x: np.ndarray, y: np.ndarray) -> Fit:
    """A model that ignores the features (every coefficient zero): the plain multiplier."""
    zeros = np.zeros(x.shape[1])
    return Fit(zeros, zeros, zeros, np.ones_like(zeros), zeros, float(np.median(y)))


def _out_of_fold(
    x: np.ndarray,
    y: np.ndarray,
    penalty: float,
    extra: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> np.ndarray:
    """Residuals of each cascade under a model fitted without its fold.

    ``extra`` holds more (features, target) rows of the same cascades, in the same order (seen at
    other times): they join the training side of each fold, never the scored side.
    """
    residuals = np.empty_like(y)
    folds = np.arange(len(y)) % INNER_FOLDS
    for k in range(INNER_FOLDS):
        test = folds == k
        train_x = np.vstack([x[~test]] + [ex[~test] for ex, _ in extra])
        train_y = np.concatenate([y[~test]] + [ey[~test] for _, ey in extra])
        residuals[test] = y[test] - _predict(_regress(train_x, train_y, penalty), x[test])
    return residuals


def _predict(fit: Fit, x: np.ndarray) -> np.ndarray:
    return linear_log_ratio(x, fit.low, fit.high, fit.mean, fit.scale, fit.coef, fit.intercept)


def ape_optimal_shift(log_ratios: np.ndarray) -> float:
    """Multiplicative shift (in log) minimising the median relative error of a point forecast.

    With a right-skewed outcome the relative-error optimum is below the median, since
    overshooting costs without bound while undershooting costs at most 100%.
    """
    shifts = float(np.median(log_ratios)) + np.linspace(-1.0, 0.5, 151)
    errors = [np.median(np.abs(np.exp(s - log_ratios) - 1.0)) for s in shifts]
    return float(shifts[int(np.argmin(errors))])


def relative_error(residuals: np.ndarray) -> float:
    """Median relative error of log-ratio residuals once shifted as the point forecast will be.

    Choosing the penalty on the metric that is reported (not on squared or absolute log error,
    which a few reignited cascades dominate) is what makes the choice hold up on new cascades.
    """
    return float(np.median(np.abs(np.exp(ape_optimal_shift(residuals) - residuals) - 1.0)))


def target_log_ratio(counts: np.ndarray, finals: np.ndarray) -> np.ndarray:
    """What every calibration regresses: log(final / count so far), both floored at one."""
    return np.log(np.maximum(finals, 1.0) / np.maximum(counts, 1.0))


def fit_horizon(
    x: np.ndarray,
    counts: np.ndarray,
    finals: np.ndarray,
    observe_s: float,
    pooled: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> HorizonModel:
    """Calibration at one observation time.

    The penalty is chosen by inner cross-validation, so features too noisy to help (few polls)
    are shrunk away and the model falls back towards the plain multiplier; the interval comes
    from the out-of-fold residuals of that choice. ``pooled`` holds (features, counts) of the
    same cascades seen at other times (see ``POOL``): extra regression rows; the offset, the
    interval and the penalty choice are measured on the rows at ``observe_s`` only.
    """
    y = target_log_ratio(counts, finals)
    extra = [(px, target_log_ratio(pc, finals)) for px, pc in pooled]
    residuals = {p: _out_of_fold(x, y, p, extra) for p in PENALTIES}
    residuals[NAIVE] = _out_of_fold(np.zeros((len(y), 1)), y, 1.0)
    penalty = min(residuals, key=lambda p: relative_error(residuals[p]))
    out_of_fold = residuals[penalty]
    if penalty == NAIVE:
        fit = _constant(x, y)
    else:
        fit = _regress(np.vstack([x] + [ex for ex, _ in extra]),
                       np.concatenate([y] + [ey for _, ey in extra]), penalty)
    tail = (1.0 - INTERVAL) / 2.0
    return HorizonModel(
        observe_s=float(observe_s),
        low=tuple(map(float, fit.low)),
        high=tuple(map(float, fit.high)),
        mean=tuple(map(float, fit.mean)),
        scale=tuple(map(float, fit.scale)),
        coef=tuple(map(float, fit.coef)),
        intercept=fit.intercept,
        offset=ape_optimal_shift(y - _predict(fit, x)),
        q_low=float(np.quantile(out_of_fold, tail)),
        q_high=float(np.quantile(out_of_fold, 1.0 - tail)),
        baseline_ratio=math.exp(ape_optimal_shift(y)),
    )


def fit(
    cascades: Sequence[Cascade], grid: Sequence[float] = OBSERVE_GRID, poll_s: float = POLL_S
) -> SpreadParams:
    """Fit both variants (full event lists, and polls every ``poll_s`` s) at every grid time."""
    finals = np.array([c.final for c in cascades], dtype=float)
    typical = typical_followers(cascades)

    def variant(name: Variant) -> tuple[HorizonModel, ...]:
        def at(t: float) -> HorizonModel:
            x, counts, pooled = _pooled_tables(cascades, t, name, typical, poll_s)
            return fit_horizon(x, counts, finals, t, pooled)

        return tuple(at(t) for t in grid)

    return SpreadParams(
        horizon_s=HORIZON_S,
        resharer_followers=typical,
        interval=INTERVAL,
        events=variant("events"),
        snapshots=variant("snapshots"),
        meta={"cascades": len(cascades), "poll_s": poll_s, "grid_s": list(grid)},
    )


def _forecast(
    cascade: Cascade, observe_s: float, variant: Variant, params: SpreadParams, poll_s: float
) -> SpreadForecast:
    if variant == "events":
        return forecast_events(cascade.times, cascade.followers, observe_s, params)
    return forecast_snapshots(
        polls(cascade, observe_s, poll_s), cascade.followers[0], observe_s, params
    )


def _summary(
    cascades: Sequence[Cascade], forecasts: Sequence[SpreadForecast], baselines: Sequence[float]
) -> dict[str, float]:
    finals = np.array([c.final for c in cascades], dtype=float)
    point = np.array([f.final for f in forecasts])
    low, high = np.array([f.low for f in forecasts]), np.array([f.high for f in forecasts])
    return {
        "n": len(cascades),
        "median_ape": float(np.median(np.abs(point / finals - 1.0))),
        "baseline_median_ape": float(np.median(np.abs(np.asarray(baselines) / finals - 1.0))),
        "interval_coverage": float(np.mean((low <= finals) & (finals <= high))),
        "median_ratio": float(np.median(point / finals)),
    }


def evaluate(
    cascades: Sequence[Cascade],
    observe_s: float,
    params: SpreadParams,
    variant: Variant = "events",
    poll_s: float = POLL_S,
) -> dict[str, float]:
    """Error of given parameters on cascades (honest only if they were not fitted on them)."""
    forecasts = [_forecast(c, observe_s, variant, params, poll_s) for c in cascades]
    models = params.events if variant == "events" else params.snapshots
    ratio = baseline_ratio(models, observe_s)
    baselines = [max(f.observed, 1) * ratio for f in forecasts]
    return _summary(cascades, forecasts, baselines)


def leave_one_out(
    cascades: Sequence[Cascade],
    observe_s: float,
    variant: Variant = "events",
    poll_s: float = POLL_S,
) -> dict[str, float]:
    """Refit the calibration without each cascade in turn and forecast that cascade.

    The features carry no fitted parameters; only the typical resharer's followers (a median
    over every resharer) is computed once on all cascades, which moves it negligibly.
    """
    finals = np.array([c.final for c in cascades], dtype=float)
    typical = typical_followers(cascades)
    x, counts, pooled = _pooled_tables(cascades, observe_s, variant, typical, poll_s)
    forecasts, baselines = [], []
    for i, cascade in enumerate(cascades):
        keep = np.arange(len(cascades)) != i
        model = fit_horizon(x[keep], counts[keep], finals[keep], observe_s,
                            [(px[keep], pc[keep]) for px, pc in pooled])
        params = SpreadParams(HORIZON_S, typical, INTERVAL, (model,), (model,))
        forecasts.append(_forecast(cascade, observe_s, variant, params, poll_s))
        baselines.append(max(counts[i], 1.0) * model.baseline_ratio)
    return _summary(cascades, forecasts, baselines)
