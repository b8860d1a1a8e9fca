"""History is data: a first run's backlog is analysed as history, recorded, and never emailed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from monitor.clock import ManualClock
from monitor.collectors.demo import DemoCollector
from monitor.config import Brand, BrandAlerts, Settings, VigieConfig
from monitor.history import forget
from monitor.scheduler import Pipeline
from monitor.storage.ingest import store_mentions
from monitor.storage.tables import Alert, DetectionState, Incident

NOW = datetime(2026, 3, 4, 18, 0, tzinfo=UTC)
HOURS = 14


def _config() -> VigieConfig:
    return VigieConfig(brands=[Brand(name="Parkeo", keywords=["parkeo"],
                                     alerts=BrandAlerts(recipients=["lead@example.com"]))])


def _store_backlog(engine: Engine, incident_after: int) -> None:
    """What a first run with a day of backfill brings: the demo stream of the last ``HOURS``
    hours, its incident starting ``incident_after`` minutes in."""
    epoch = NOW - timedelta(hours=HOURS)
    demo = DemoCollector("Parkeo", incident_after_minutes=incident_after)
    posts = [p for minute in range(HOURS * 60) for p in demo.posts_at(epoch, minute)]
    with engine.begin() as conn:
        store_mentions(conn, [replace(p.mention, engagement=None) for p in posts], NOW)


def _pipeline(engine: Engine, tmp_path: Path) -> Pipeline:
    settings = Settings(DATABASE_URL=str(engine.url), VIGIE_DATA_DIR=tmp_path, SMTP_HOST=None)
    return Pipeline(engine, _config(), settings, ManualClock(NOW))


def test_first_run_records_incidents_of_its_history_without_email(
    engine: Engine, tmp_path: Path
) -> None:
    _store_backlog(engine, incident_after=6 * 60)
    pipeline = _pipeline(engine, tmp_path)
    pipeline.process()
    with engine.connect() as conn:
        incidents = conn.execute(select(Incident.first_seen, Incident.historical)).all()
        alerts = conn.execute(select(Alert.kind, Alert.status)).all()
        frontier = conn.execute(select(DetectionState.analysed_until)).scalar()
    assert incidents and all(historical for _, historical in incidents)
    assert min(first for first, _ in incidents) < NOW - timedelta(hours=6)
    assert alerts and {status for _, status in alerts} == {"historical"}, alerts
    assert not list((tmp_path / "outbox").glob("*.eml"))
    assert frontier == NOW

    # The next cycles are live: nothing more is replayed, and the history is not re-alerted.
    pipeline.clock.advance(timedelta(minutes=1))
    pipeline.process()
    with engine.connect() as conn:
        assert conn.execute(select(Alert.status)).scalars().all() == [s for _, s in alerts]


def test_backfill_flag_analyses_the_stored_history_again(engine: Engine, tmp_path: Path) -> None:
    pipeline = _pipeline(engine, tmp_path)
    pipeline.process()  # an empty first run: nothing analysed, the frontier is now
    _store_backlog(engine, incident_after=6 * 60)  # then an import of older mentions
    forget(engine)
    pipeline.clock.advance(timedelta(seconds=30))
    pipeline.process()
    with engine.connect() as conn:
        assert conn.execute(select(Incident.historical)).scalars().all()[0] is True
        assert "historical" in conn.execute(select(Alert.status)).scalars().all()
