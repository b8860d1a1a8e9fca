"""Detect stage: turn stored, scored mentions into forecasts, incidents and alerts.

Detectors are plugins (:mod:`monitor.plugins`, declared in :mod:`.plugins` for the built-in
ones). Three run per brand each cycle, each in its own module and each explainable:

- :mod:`virality`: a complaint forecast to cross the brand's reshare threshold
  (warned before it does), or already growing fast (``spreading`` alerts, ``forecasts`` rows);
- :mod:`incidents`: many people complaining about the same thing (``incident`` alerts,
  one per incident, re-sent as it grows);
- :mod:`spikes`: mentions or complaints of a stream far above its own rate
  (``volume`` alerts, with a cooldown).

Every alert has a dedup key, so running detection again never queues the same alert twice. A
detector that fails for one brand is logged and the others still run: a bad cycle must not
silence every alert.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine

from monitor.config import VigieConfig
from monitor.detection.rates import one_cycle
from monitor.detection.silence import silent_alerts
from monitor.plugins import registry
from monitor.storage import rollups

log = logging.getLogger(__name__)


def detect(engine: Engine, config: VigieConfig, now: datetime) -> int:
    """Run every detector for every brand; returns how many new alerts were queued."""
    queued = 0
    rollups.refresh(engine)  # the streams' rates are read from it
    detectors = [(d.name, d.run) for d in registry().detectors.values() if d.run is not None]
    with one_cycle():
        for brand in config.brands:
            for name, run in detectors:
                try:
                    queued += run(engine, brand, now)
                except Exception:
                    log.exception("%s detection failed for brand %s", name, brand.name)
        queued += silent_alerts(engine, config, now)
    if queued:
        log.info("detection queued %d alert(s)", queued)
    return queued
