"""Replay a recorded history through the whole pipeline, on a simulated clock.

Each mention appears at its own publication time and each source is polled at its configured
interval: a poll stores what was published since the previous one (the real ``collect_once``,
health and cursors included), then the real processing runs (scoring, rollup, detection, release
and delivery). Deliveries go to ``.eml`` files in a temporary folder: no SMTP server and no
webhook is ever contacted, and the database is a temporary SQLite file, so nothing real is
touched. What was released becomes one JSON-ready record per alert revision.
"""

from __future__ import annotations

import bisect
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select

from monitor.backtest.inputs import available_at
from monitor.clock import ManualClock
from monitor.config import SourceConfig, VigieConfig
from monitor.history import mark_analysed
from monitor.mentions import Batch, MentionIn
from monitor.scheduler import Pipeline
from monitor.storage.db import make_engine, upgrade
from monitor.storage.tables import Alert, Incident, IncidentMention, Mention

IDLE_TICK = timedelta(hours=1)
"""Processing runs at least this often, even when nothing new came (closing, silence)."""
TAIL = timedelta(minutes=10)
"""How long the replay goes on after the last mention (what it may still raise). Short: the
recording ends there, the sources do not fall silent."""
UNRELEASED = ("pending", "held")


@dataclass
class ReplaySource:
    """A collector that returns, at each poll, what the recording published since the last one."""

    source: str
    brand: str
    mentions: list[MentionIn]
    position: int = 0
    _times: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._times = [available_at(m) for m in self.mentions]

    @property
    def key(self) -> str:
        return f"{self.source}:{self.brand}"

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        end = bisect.bisect_right(self._times, now)
        batch, self.position = self.mentions[self.position : end], max(end, self.position)
        yield Batch(batch, {"until": now.isoformat()})


def owner(config: VigieConfig, brand: str) -> str:
    """The configured brand whose collectors bring a mention (a competitor's: its watcher's)."""
    for b in config.brands:
        if b.name.casefold() == brand.casefold():
            return b.name
    for b in config.brands:
        if brand.casefold() in (c.casefold() for c in b.competitors):
            return b.name
    return brand


def sources_of(config: VigieConfig, mentions: list[MentionIn]) -> list[ReplaySource]:
    """One replayed collector per (source, watching brand), each with its mentions in order."""
    groups: dict[tuple[str, str], list[MentionIn]] = {}
    for m in mentions:
        groups.setdefault((m.source, owner(config, m.brand)), []).append(m)
    return [ReplaySource(s, b, sorted(ms, key=available_at))
            for (s, b), ms in sorted(groups.items())]


def interval(config: VigieConfig, source: str) -> timedelta:
    settings = config.sources.get(source) or SourceConfig()
    return timedelta(seconds=settings.interval_seconds)


def quiet_config(config: VigieConfig) -> VigieConfig:
    """The config with every webhook removed: a backtest must never post to a real chat."""
    brands = []
    for b in config.brands:
        routes = [r.model_copy(update={"webhooks": []}) for r in b.alerts.routes]
        alerts = b.alerts.model_copy(update={"webhooks": [], "routes": routes})
        brands.append(b.model_copy(update={"alerts": alerts}))
    return config.model_copy(update={"brands": brands})


def _throwaway(dbapi_conn: Any, _record: Any) -> None:
    """The replay's database is a temporary file nobody else reads: no fsync at each commit."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


@dataclass
class Outcome:
    """The released alert revisions, in order, and the replay's figures."""

    alerts: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    cycles: int = 0
    stored: int = 0
    held_at_end: int = 0
    seconds: float = 0.0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _members(engine: Engine, alert: Any) -> tuple[list[datetime], Counter[str]]:
    """When the alert's mentions were published and their languages."""
    details = alert.details or {}
    query = select(Mention.created_at, Mention.language)
    if details.get("incident_id") is not None:
        members = select(IncidentMention.mention_id).where(
            IncidentMention.incident_id == details["incident_id"]
        )
        query = query.where(Mention.id.in_(members))
    elif alert.mention_id is not None:
        query = query.where(Mention.id == alert.mention_id)
    elif details.get("window_start") and details.get("window_minutes"):
        start = datetime.fromisoformat(details["window_start"])
        end = start + timedelta(minutes=int(details["window_minutes"]))
        query = query.where(Mention.brand == alert.brand, Mention.created_at >= start,
                            Mention.created_at < end)
    else:
        return [], Counter()
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [r[0] for r in rows], Counter(r[1] or "?" for r in rows)


def _record(engine: Engine, alert: Any, at: datetime) -> dict[str, Any]:
    times, languages = _members(engine, alert)
    details = alert.details or {}
    title = alert.title
    if details.get("incident_id") is not None:
        with engine.connect() as conn:
            title = conn.execute(
                select(Incident.title).where(Incident.id == details["incident_id"])
            ).scalar() or title
    return {
        "at": at.isoformat(),
        "kind": alert.kind,
        "brand": alert.brand,
        "title": title,
        "mentions": len(times) or details.get("count") or details.get("similar_count") or 0,
        "languages": dict(languages.most_common()),
        "first_mention_at": _iso(min(times) if times else None),
        "severity": alert.severity,
        "revision": alert.revision,
    }


def released_since(engine: Engine, seen: set[tuple[int, int]], at: datetime,
                   ) -> list[dict[str, Any]]:
    """Records of the alert revisions released and not in ``seen`` (which they are added to)."""
    with engine.connect() as conn:
        released = conn.execute(
            select(Alert.__table__).where(Alert.status.not_in(UNRELEASED)).order_by(Alert.id)
        ).all()
    fresh = [a for a in released if (a.id, a.revision) not in seen]
    seen.update((a.id, a.revision) for a in fresh)
    return [_record(engine, a, at) for a in fresh]


class Replay:
    """One backtest: a temporary database, the replayed sources and a manual clock."""

    def __init__(self, config: VigieConfig, history: list[MentionIn], workdir: Path,
                 process_every: timedelta) -> None:
        from monitor.config import Settings

        settings = Settings(DATABASE_URL=f"sqlite:///{workdir / 'backtest.db'}",
                            VIGIE_DATA_DIR=workdir, SMTP_HOST=None)
        engine = make_engine(settings.db_url)
        event.listen(engine, "connect", _throwaway)
        upgrade(engine)
        self.sources = sources_of(config, history)
        self.pipeline = Pipeline(engine, quiet_config(config), settings,
                                 ManualClock(available_at(history[0])), list(self.sources))
        self.process_every = process_every
        self.seen: set[tuple[int, int]] = set()
        self.outcome = Outcome()

    @property
    def clock(self) -> ManualClock:
        clock = self.pipeline.clock
        assert isinstance(clock, ManualClock)
        return clock

    def run(self, start: datetime, end: datetime) -> Outcome:
        began = time.monotonic()
        self._preload(start)
        polls = {s.key: start for s in self.sources}
        last_process, pending = start - IDLE_TICK, False
        while True:
            due = min(last_process + (self.process_every if pending else IDLE_TICK),
                      *polls.values())
            if due > end:
                break
            self.clock.current = due
            for collector in self.sources:
                if polls[collector.key] <= due:
                    new = self.pipeline.collect(collector).new
                    self.outcome.polls += 1
                    self.outcome.stored += new
                    pending = pending or new > 0
                    polls[collector.key] = due + interval(self.pipeline.config, collector.source)
            if due - last_process >= (self.process_every if pending else IDLE_TICK):
                self._process(due)
                last_process, pending = due, False
        if pending:  # the last polls' mentions are processed too
            self.clock.current = end
            self._process(end)
        self._finish()
        self.outcome.seconds = time.monotonic() - began
        return self.outcome

    def _preload(self, start: datetime) -> None:
        """What was published before ``start`` is the history the detectors learn from: stored,
        scored and marked analysed at once, never alerted on."""
        earlier = [s for s in self.sources if available_at(s.mentions[0]) < start]
        if not earlier:
            return
        self.clock.current = start - timedelta(microseconds=1)
        for collector in earlier:
            self.outcome.stored += self.pipeline.collect(collector).new
        with self.pipeline.engine.begin() as conn:
            for brand in self.pipeline.config.brands:
                mark_analysed(conn, brand.name, start)
        from monitor.scoring import load_model, score_pending

        config = self.pipeline.config
        score_pending(self.pipeline.engine, load_model(config.scoring.model),
                      config.scoring.batch_size, self.clock.now)

    def _process(self, now: datetime) -> None:
        self.pipeline.process()
        self.outcome.cycles += 1
        self.outcome.alerts += released_since(self.pipeline.engine, self.seen, now)

    def _finish(self) -> None:
        with self.pipeline.engine.connect() as conn:
            self.outcome.held_at_end = conn.execute(
                select(func.count()).select_from(Alert).where(Alert.status.in_(UNRELEASED))
            ).scalar_one()
        self.pipeline.engine.dispose()


def backtest(config: VigieConfig, history: list[MentionIn], start: datetime | None = None,
             end: datetime | None = None, process_every: timedelta = timedelta(minutes=5),
             ) -> Outcome:
    """Replay ``history`` (in time order) from ``start`` to ``end`` (default: all of it, plus
    ``TAIL``); mentions after ``end`` are left out."""
    if end is not None:
        history = [m for m in history if available_at(m) <= end]
    if not history:
        return Outcome()
    start = start or available_at(history[0])
    end = end or available_at(history[-1]) + TAIL
    with tempfile.TemporaryDirectory(prefix="vigie-backtest-") as workdir:
        return Replay(config, history, Path(workdir), process_every).run(start, end)
