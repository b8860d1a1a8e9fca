"""Virality forecast of a single mention (SEISMIC-family self-exciting process, calibrated)."""

from models.spread.forecast import (
    SpreadForecast,
    forecast_events,
    forecast_snapshots,
    load_params,
)

__all__ = ["SpreadForecast", "forecast_events", "forecast_snapshots", "load_params"]
