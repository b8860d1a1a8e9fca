"""Detect stage: turn stored, scored mentions into forecasts, incidents and alerts.

Three detectors run per brand each cycle, each in its own module and each explainable:

- :mod:`virality`: a complaint forecast to cross the brand's reshare threshold
  (warned before it does), or already growing fast (``spreading`` alerts, ``forecasts`` rows);
- :mod:`incidents`: many people complaining about the same thing (``incident`` alerts,
  one per incident, re-sent as it grows);
- :mod:`spikes`: mention volume or negative share far above the seasonal baseline
  (``volume`` alerts, with a cooldown).

Every alert has a dedup key, so running detection again never queues the same alert twice. A
detector that fails for one brand is logged and the others still run: a bad cycle must not
silence every alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from monitor.config import Brand, VigieConfig
from monitor.detection.incidents import detect_incidents
from monitor.detection.spikes import spike_alerts
from monitor.detection.virality import spreading_alerts

log = logging.getLogger(__name__)

Detector = Callable[[Engine, Brand, datetime], int]
DETECTORS: tuple[tuple[str, Detector], ...] = (
    ("spreading", spreading_alerts),
    ("incidents", detect_incidents),
    ("spikes", spike_alerts),
)


def detect(engine: Engine, config: VigieConfig, now: datetime) -> int:
    """Run every detector for every brand; returns how many new alerts were queued."""
    queued = 0
    for brand in config.brands:
        for name, detector in DETECTORS:
            try:
                queued += detector(engine, brand, now)
            except Exception:
                log.exception("%s detection failed for brand %s", name, brand.name)
    if queued:
        log.info("detection queued %d alert(s)", queued)
    return queued
