"""Learned calibration of the forecaster, stored as a small JSON file in the repository.

For each observation time on a grid, a robust linear model maps the scale-free features to
log(final / count so far); forecasts at other times interpolate in log time. The point forecast
carries an offset that minimises relative error (that optimum sits below the median of a
right-skewed outcome), and the interval comes from out-of-fold residual quantiles.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from models.spread.features import FEATURES

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "spread" / "params.json"


def linear_log_ratio(
    features: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    mean: np.ndarray,
    scale: np.ndarray,
    coef: np.ndarray,
    intercept: float,
) -> np.ndarray:
    """The calibration's linear model, for one row of features or many.

    Features outside ``[low, high]`` (the range it was fitted on, see ``training.CLIP``) count as
    the nearest edge: the fit is flat where it saw no cascade.
    """
    within = np.clip(features, np.asarray(low), np.asarray(high))
    return intercept + ((within - np.asarray(mean)) / np.asarray(scale)) @ np.asarray(coef)


@dataclass(frozen=True)
class HorizonModel:
    """Calibration fitted on cascades observed for exactly ``observe_s`` seconds."""

    observe_s: float
    low: tuple[float, ...]
    high: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    offset: float
    q_low: float
    q_high: float
    baseline_ratio: float

    def log_ratio(self, features: np.ndarray) -> float:
        """Predicted median of log(final / count so far)."""
        return float(linear_log_ratio(features, self.low, self.high, self.mean, self.scale,
                                      self.coef, self.intercept))


@dataclass(frozen=True)
class SpreadParams:
    """Everything the forecaster learned; ``events`` and ``snapshots`` are two input variants."""

    horizon_s: float
    resharer_followers: float
    interval: float
    events: tuple[HorizonModel, ...]
    snapshots: tuple[HorizonModel, ...]
    meta: dict[str, object] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = asdict(self) | {"features": list(FEATURES)}
        path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> SpreadParams:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data.pop("features")) != FEATURES:
            raise ValueError(f"{path} was fitted on other features; refit with `models.spread fit`")

        def models(rows: list[dict]) -> tuple[HorizonModel, ...]:
            built = [HorizonModel(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in row.items()}) for row in rows]
            return tuple(sorted(built, key=lambda m: m.observe_s))

        return cls(
            horizon_s=data["horizon_s"],
            resharer_followers=data["resharer_followers"],
            interval=data["interval"],
            events=models(data["events"]),
            snapshots=models(data["snapshots"]),
            meta=data.get("meta", {}),
        )


@dataclass(frozen=True)
class Calibrated:
    """Log-ratio predictions for one observation, interpolated between fitted horizons."""

    point: float
    low: float
    high: float
    extrapolated: bool


def _blend(models: tuple[HorizonModel, ...], observe_s: float, get) -> float:
    """``get(model)`` interpolated linearly in log observation time (clamped at the ends).

    Only the models around ``observe_s`` are evaluated (``np.interp`` reads no other value, so
    the result is the same as evaluating all of them; each costs a feature product).
    """
    times = np.log([m.observe_s for m in models])
    at = np.log(max(observe_s, 1.0))
    right = int(np.searchsorted(times, at))
    near = range(max(right - 1, 0), min(right + 1, len(models)))
    values = [get(m) if i in near else 0.0 for i, m in enumerate(models)]
    return float(np.interp(at, times, values))


def calibrate(
    models: tuple[HorizonModel, ...], features: np.ndarray, observe_s: float
) -> Calibrated:
    """Point and interval of log(final / count so far) for features seen at ``observe_s``."""
    median = _blend(models, observe_s, lambda m: m.log_ratio(features))
    return Calibrated(
        point=median + _blend(models, observe_s, lambda m: m.offset),
        low=median + _blend(models, observe_s, lambda m: m.q_low),
        high=median + _blend(models, observe_s, lambda m: m.q_high),
        extrapolated=not models[0].observe_s <= observe_s <= models[-1].observe_s,
    )


def baseline_ratio(models: tuple[HorizonModel, ...], observe_s: float) -> float:
    """The naive forecaster's multiplier of the count so far at ``observe_s``."""
    return float(np.exp(_blend(models, observe_s, lambda m: np.log(m.baseline_ratio))))
