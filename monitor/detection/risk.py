"""Risk: one 0..1 number per complaint or incident, with the reasons a support lead can check.

A weighted sum of a few plain signals, each scaled to 0..1 by a threshold from the brand's config
(reshare threshold, follower reach, unanswered time). A sum rather than a learned model on purpose:
there are no labelled "went badly" outcomes to learn from, and every part must be explainable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.config import BrandAlerts

WEIGHTS = {"reach": 0.35, "author": 0.15, "growth": 0.2, "negativity": 0.15, "unanswered": 0.15}
INCIDENT_WEIGHTS = {"people": 0.3, "growth": 0.2, "reach": 0.15, "negativity": 0.15,
                    "unanswered": 0.2}


@dataclass(frozen=True, slots=True)
class Risk:
    """The score, and per signal a readable reason (largest contribution first)."""

    score: float
    reasons: dict[str, str]

    def reason_lines(self) -> list[str]:
        return [f"{name}: {text}" for name, text in self.reasons.items()]


@dataclass(frozen=True, slots=True)
class ComplaintSignals:
    """What is known about one mention when its risk is scored."""

    predicted: float | None
    reshares: int
    per_hour: float
    followers: int | None
    negativity: float
    unanswered_s: float | None


@dataclass(frozen=True, slots=True)
class IncidentSignals:
    """What is known about one incident when its risk is scored."""

    authors: int
    burst_ratio: float
    max_predicted: float
    negativity: float
    unanswered_s: float | None


def _log_share(value: float, full: float) -> float:
    """0..1 on a log scale: 0 at nothing, 1 at ``full`` or more (reach grows multiplicatively)."""
    return min(math.log1p(max(value, 0.0)) / math.log1p(full), 1.0)


def _unanswered(seconds: float | None, rules: BrandAlerts) -> tuple[float, str]:
    if seconds is None:
        return 0.0, "answered"
    return min(seconds / 60 / rules.risk.unanswered_minutes, 1.0), f"{seconds / 60:,.0f} min"


def _combine(parts: dict[str, tuple[float, str]], weights: dict[str, float]) -> Risk:
    contributions = {name: weights[name] * share for name, (share, _) in parts.items()}
    order = sorted(parts, key=lambda name: -contributions[name])
    reasons = {name: parts[name][1] for name in order if contributions[name] > 0}
    return Risk(round(min(sum(contributions.values()), 1.0), 3), reasons)


def complaint_risk(signals: ComplaintSignals, rules: BrandAlerts) -> Risk:
    """Risk of one mention: where its forecast heads, who wrote it, how fast, how angry, how long
    it has waited for an answer."""
    threshold = float(rules.spreading.threshold)
    predicted = max(signals.predicted or 0.0, float(signals.reshares))
    followers = signals.followers or 0
    parts = {
        "reach": (_log_share(predicted, threshold),
                  f"≈{predicted:,.0f} reshares expected (threshold {threshold:,.0f})"),
        "author": (_log_share(followers, rules.risk.reach_followers),
                   f"{followers:,} followers"),
        "growth": (min(signals.per_hour / rules.spreading.reshares_per_hour, 1.0),
                   f"+{signals.per_hour:,.0f} reshares/h"),
        "negativity": (signals.negativity, f"{signals.negativity:.0%} negative"),
        "unanswered": _unanswered(signals.unanswered_s, rules),
    }
    return _combine(parts, WEIGHTS)


def incident_risk(signals: IncidentSignals, rules: BrandAlerts) -> Risk:
    """Risk of an incident: how many people, how far above its usual rate, the reach of its
    most spreading post, how negative, how long unanswered."""
    people_full = 4.0 * rules.incidents.min_authors
    parts = {
        "people": (min(signals.authors / people_full, 1.0), f"{signals.authors:,} people"),
        "growth": (min(math.log2(max(signals.burst_ratio, 1.0)) / 4.0, 1.0),
                   f"x{signals.burst_ratio:,.1f} its usual rate"),
        "reach": (_log_share(signals.max_predicted, float(rules.spreading.threshold)),
                  f"most shared post heads for ≈{signals.max_predicted:,.0f} reshares"),
        "negativity": (signals.negativity, f"{signals.negativity:.0%} negative"),
        "unanswered": _unanswered(signals.unanswered_s, rules),
    }
    return _combine(parts, INCIDENT_WEIGHTS)


def severity(score: float, rules: BrandAlerts) -> str:
    """Alert severity from risk: ``high`` from the brand's high-risk threshold."""
    return "high" if score >= rules.risk.high else "warning"
