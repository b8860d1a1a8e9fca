"""Who gets an alert and when: severity routing, quiet hours, cooldown.

Pure functions over the brand's config, so the release step can be reasoned about (and tested)
without a database or a mail server.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.config import SEVERITIES, BrandAlerts, QuietHours

RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
FILE_TARGET = "outbox"


def at_least(severity: str, minimum: str) -> bool:
    """Severity comparison; an unknown severity counts as a warning."""
    return RANK.get(severity, RANK["warning"]) >= RANK[minimum]


def webhook_key(entry: str) -> str:
    """How a webhook is named in the database: never its URL, which may hold a token."""
    if entry.startswith("env:"):
        return entry
    scheme = entry.split("://", 1)[0]
    return f"{scheme}://#{hashlib.sha256(entry.encode()).hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class Target:
    """One destination of a delivery: ``email`` address, ``webhook`` key or the ``file`` outbox."""

    channel: str
    target: str


def _routed(rules: BrandAlerts, severity: str) -> tuple[list[str], list[str]]:
    emails: list[str] = []
    hooks: list[str] = []
    if at_least(severity, rules.min_severity):
        emails += rules.recipients
        hooks += rules.webhooks
    for route in rules.routes:
        if at_least(severity, route.min_severity):
            emails += route.recipients
            hooks += route.webhooks
    return list(dict.fromkeys(e.casefold() for e in emails)), hooks


def email_recipients(rules: BrandAlerts, severity: str) -> list[str]:
    """The addresses an alert of this severity goes to (routes included)."""
    return _routed(rules, severity)[0]


def targets(rules: BrandAlerts, severity: str, smtp_configured: bool) -> list[Target]:
    """Everyone an alert of this severity goes to; the ``.eml`` outbox when nobody would get it.

    Without an SMTP server the emails are written to files instead, so the demo and a first
    install still show what would have been sent.
    """
    emails, hooks = _routed(rules, severity)
    found = [Target("webhook", key) for key in dict.fromkeys(webhook_key(h) for h in hooks)]
    if emails and smtp_configured:
        found = [Target("email", e) for e in emails] + found
    elif emails or not found:
        found.insert(0, Target("file", FILE_TARGET))
    return found


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """When alerts held now by quiet hours go out (the digest time), or None outside them."""
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    if not quiet.covers(local.time()):
        return None
    release = quiet.digest_time or quiet.end
    day = local.date()
    candidate = datetime.combine(day, release, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=1), release, tzinfo=zone)
    return candidate.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An alert waiting for release: new (``pending``) or ``held`` and now due."""

    id: int
    kind: str
    severity: str
    status: str


@dataclass
class Plan:
    """Held alerts with their release time, and groups to release now (a group > 1 is a digest)."""

    hold: dict[int, datetime] = field(default_factory=dict)
    release: list[list[int]] = field(default_factory=list)


def plan(
    rules: BrandAlerts, alerts: list[Candidate], last_release: datetime | None, now: datetime
) -> Plan:
    """Decide, for one brand, what goes out now and what waits.

    Manual and urgent alerts always go at once. In quiet hours the rest wait for the digest.
    Otherwise, with a cooldown, alerts arriving while it runs wait for its end and go out
    together; without one, each goes alone (only what quiet hours held is grouped).
    """
    result = Plan()
    quiet = rules.quiet_hours
    urgent = quiet.urgent_severity if quiet else "critical"
    hold_quiet = quiet_until(quiet, now)
    cooldown = timedelta(minutes=rules.cooldown_minutes)
    cooling = last_release + cooldown if cooldown and last_release else None
    if cooling is not None and cooling <= now:
        cooling = None
    group: list[int] = []
    for alert in alerts:
        if alert.kind == "manual" or at_least(alert.severity, urgent):
            result.release.append([alert.id])
        elif hold_quiet is not None:
            result.hold[alert.id] = hold_quiet
        elif alert.status == "held":
            group.append(alert.id)
        elif cooling is not None:
            result.hold[alert.id] = cooling
        elif cooldown:
            group.append(alert.id)
        else:
            result.release.append([alert.id])
    if group:
        result.release.append(group)
    return result
