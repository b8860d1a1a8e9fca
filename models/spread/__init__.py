"""Virality forecast of a single mention (SEISMIC-family self-exciting process, calibrated).

The product forecasts from engagement polls (:func:`forecast_snapshots`); the full-event variant
(``forecast.forecast_events``) serves training and evaluation only.
"""

from models.spread.forecast import SpreadForecast, forecast_snapshots, load_params

__all__ = ["SpreadForecast", "forecast_snapshots", "load_params"]
