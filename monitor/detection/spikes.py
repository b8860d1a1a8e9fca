"""Volume and complaint spikes of a brand and of each of its sources, against their own rates.

Every stream (the brand, and the brand on each source) is judged on its mentions and its
complaints over several windows (the configured short one, 1 h, 3 h, 12 h) by
:mod:`monitor.detection.rates`: six complaints in three hours on an app store that brings two
reviews a day is a spike; fifty tweets an hour on a busy account is a normal Monday. A spike must
be improbable under the stream's rate (``sensitivity``: false alarms per month), hold at least
``min_count`` mentions and ``factor`` times the usual; of a stream's windows only the most
surprising stream and window of each measure alerts. A spike of the same measure within
``EPISODE`` (or ``cooldown_minutes``, if longer) of the last one continues that alert: a
follow-up goes out only when it escalates (its count reached ``escalation_factor`` times what
the last email said), not every hour a long spike lasts. A spike that open incidents explain
(their members make up most of its excess) raises nothing: the incident's alert already says
what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from monitor.alerts.outbox import raise_alert
from monitor.config import Brand
from monitor.detection import rates
from monitor.detection.rates import Judgement
from monitor.storage.tables import Alert, Incident, IncidentMention, Mention

KINDS = {"mentions": "volume", "complaints": "complaints"}
EXPLAINED = 0.5
"""Share of a spike's excess that open incidents' members must make up to explain it."""
EPISODE = max(rates.WINDOWS)
"""How long after its last alert a spike of the same measure is the same episode."""


@dataclass(frozen=True, slots=True)
class Spike:
    """A window of one stream far above its own usual rate."""

    kind: str  # "volume" or "complaints"
    source: str | None  # None: the brand on every source
    window: timedelta
    count: int
    expected: float
    p_value: float
    start: datetime

    @property
    def minutes(self) -> int:
        return int(self.window / timedelta(minutes=1))

    @property
    def stream(self) -> str:
        return self.source or "all"


def windows(brand: Brand) -> tuple[timedelta, ...]:
    return tuple(sorted({timedelta(minutes=brand.alerts.volume.window_minutes), *rates.WINDOWS}))


def _is_spike(j: Judgement, brand: Brand, threshold: float) -> bool:
    rule = brand.alerts.volume
    return j.p_value < threshold and j.count >= rule.min_count and j.count >= rule.factor * max(
        j.expected, 1e-9)


def find_spikes(engine: Engine, brand: Brand, now: datetime) -> list[Spike]:
    """The most surprising spiking stream and window of each measure, strongest first: a
    source's burst is the brand's too, and one alert says it."""
    spans = windows(brand)
    with engine.connect() as conn:
        judged = rates.judge(conn, brand.name, now, spans,
                             timedelta(hours=brand.alerts.volume.baseline_hours))
    streams = len({j.source for j in judged})
    threshold = rates.alpha(brand.alerts.volume.sensitivity, streams, windows=spans)
    best: dict[str, Judgement] = {}
    for j in judged:
        if _is_spike(j, brand, threshold) and (
            j.measure not in best or j.p_value < best[j.measure].p_value
        ):
            best[j.measure] = j
    spikes = [Spike(KINDS[j.measure], j.source, j.window, j.count, j.expected, j.p_value,
                    now - j.window) for j in best.values()]
    return sorted(spikes, key=lambda s: s.p_value)


def _episode_key(conn: Connection, brand: Brand, prefix: str, now: datetime) -> str | None:
    """The dedup key of the spike alert this one continues, if its episode is still open."""
    last = func.coalesce(Alert.updated_at, Alert.created_at)
    query = select(Alert.dedup_key, last.label("at")).where(
        Alert.brand == brand.name, Alert.kind == "volume", Alert.dedup_key.like(f"{prefix}:%")
    )
    row = conn.execute(query.order_by(last.desc()).limit(1)).first()
    span = max(EPISODE, timedelta(minutes=brand.alerts.volume.cooldown_minutes))
    return row.dedup_key if row is not None and now - row.at < span else None


def _span(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


def _title(brand: str, spike: Spike) -> str:
    what = "Mention volume spike" if spike.kind == "volume" else "Complaint spike"
    where = f" on {spike.source}" if spike.source else ""
    return (f"{what} for {brand}{where}: {spike.count:,} in {_span(spike.minutes)} "
            f"(usual {spike.expected:.1f})")


def _details(spike: Spike) -> dict[str, Any]:
    return {
        "count": spike.count,
        "measure": "mentions" if spike.kind == "volume" else "complaints",
        "source": spike.source,
        "baseline": round(spike.expected, 2),
        "baseline_kind": "this stream's own rate, by hour of day and weekday",
        "p_value": float(f"{spike.p_value:.3g}"),
        "window_minutes": spike.minutes,
        "window_start": spike.start.isoformat(),
    }


def _explained(conn: Connection, brand: str, spike: Spike) -> bool:
    """Whether open incidents' members make up most of the spike's excess: their own alert
    already says what it is, with examples, so a figures-only spike would only repeat it."""
    members = conn.execute(
        select(func.count()).select_from(IncidentMention)
        .join(Incident, Incident.id == IncidentMention.incident_id)
        .join(Mention, Mention.id == IncidentMention.mention_id)
        .where(Incident.brand == brand, Incident.status == "open",
               Mention.created_at >= spike.start)
    ).scalar_one()
    return members >= EXPLAINED * (spike.count - spike.expected)


def alert(engine: Engine, brand: Brand, spike: Spike, now: datetime) -> bool:
    """Queue the spike's alert, or its follow-up when it continues an escalating episode;
    nothing when an open incident explains it."""
    prefix = f"{spike.kind}:{brand.name}"
    with engine.begin() as conn:
        if _explained(conn, brand.name, spike):
            return False
        key = _episode_key(conn, brand, prefix, now) or (
            f"{prefix}:{spike.stream}:{spike.minutes}:{spike.start:%Y%m%dT%H%M}")
        return raise_alert(
            conn,
            kind="volume",
            dedup_key=key,
            brand=brand.name,
            title=_title(brand.name, spike),
            details=_details(spike),
            now=now,
            metric=float(spike.count),
            escalation_factor=brand.alerts.escalation_factor,
        )


def spike_alerts(engine: Engine, brand: Brand, now: datetime) -> int:
    """Find the brand's spikes and queue their alerts (strongest first); returns alerts queued."""
    return sum(alert(engine, brand, s, now) for s in find_spikes(engine, brand, now))
