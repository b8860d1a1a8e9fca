"""Database faults: SQLite locked by another writer (as the dashboard is when a manager assigns a
complaint), and a PostgreSQL server restarted under a running worker. Each test checks that the
stream is stored exactly once, with nothing lost, and everything scored afterwards."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, select, text

from monitor.clock import AcceleratedClock, Clock, ManualClock
from monitor.collectors.demo import DemoCollector
from monitor.config import Brand, Settings, SourceConfig, VigieConfig
from monitor.scheduler import Pipeline, run_simulated
from monitor.storage.db import make_engine, upgrade
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import CollectorState, Mention, Sentiment
from monitor.workers import WorkerOptions, run_worker
from tests.alerts_fixtures import free_port
from tests.support import wait_until

BRAND = "Parkeo"
LOCK_SECONDS = 1.5


def demo_pipeline(engine: Engine, data_dir: Path, clock: Clock) -> Pipeline:
    config = VigieConfig(
        brands=[Brand(name=BRAND, keywords=["parkeo"])],
        sources={"demo": SourceConfig(interval_seconds=1, rate_per_minute=6)},
        reports={"enabled": False},
    )
    collector = DemoCollector(BRAND, rate_per_minute=6)
    settings = Settings(VIGIE_DATA_DIR=str(data_dir))
    return Pipeline(engine, config, settings, clock, [collector])


def expected_ids(engine: Engine) -> set[str]:
    """What an uninterrupted collection up to the saved cursor stores."""
    with engine.connect() as conn:
        cursor = load_cursor(conn, f"demo:{BRAND}")
    epoch = datetime.fromisoformat(cursor["epoch"])
    end = epoch + timedelta(minutes=cursor["minute"])
    batches = DemoCollector(BRAND, rate_per_minute=6).collect(None, epoch)
    first = next(batches)  # minute 0, which fixes the epoch
    rest = DemoCollector(BRAND, rate_per_minute=6).collect(first.cursor, end)
    return {m.external_id for batch in [first, *rest] for m in batch.mentions}


def stored(engine: Engine) -> tuple[int, set[str], int]:
    """(rows, distinct external ids, unscored rows)."""
    with engine.connect() as conn:
        ids = list(conn.execute(select(Mention.external_id)).scalars())
        unscored = conn.execute(
            select(func.count()).where(~Mention.id.in_(select(Sentiment.mention_id)))
        ).scalar_one()
    return len(ids), set(ids), unscored


def assert_complete(engine: Engine) -> None:
    rows, ids, unscored = stored(engine)
    assert rows == len(ids), "a mention was stored twice"
    assert ids == expected_ids(engine), "a mention was lost"
    assert unscored == 0


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """What the dashboard does while saving an assignment, only for longer."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE collector_state SET last_items = last_items")
    return conn


def _count(path: Path) -> int:
    with sqlite3.connect(path) as reader:  # WAL: readers never wait for the writer
        return reader.execute("SELECT count(*) FROM mentions").fetchone()[0]


def test_sqlite_scheduler_waits_for_a_dashboard_write_lock_then_finishes(tmp_path, now, caplog):
    path = tmp_path / "vigie.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    pipeline = demo_pipeline(engine, tmp_path, ManualClock(now))
    run_simulated(pipeline, 30, 10)
    before = _count(path)
    lock = _hold_write_lock(path)
    worker = threading.Thread(target=run_simulated, args=(pipeline, 60, 10))
    worker.start()
    time.sleep(LOCK_SECONDS)  # the scheduler is blocked on its first write meanwhile
    during = _count(path)
    alive = worker.is_alive()
    lock.execute("COMMIT")
    lock.close()
    worker.join(120)

    assert (during, alive) == (before, True), "the scheduler wrote through the lock"
    assert _count(path) > before
    assert_complete(engine)
    assert "locked" not in caplog.text


def test_sqlite_lock_longer_than_the_busy_timeout_fails_a_cycle_and_loses_nothing(
    tmp_path, now, caplog
):
    path = tmp_path / "vigie.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    # A short busy timeout stands in for a lock held longer than the default 30 s.
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=100"))
    engine.dispose()  # the pooled connections of the upgrade still wait 30 s
    clock = ManualClock(now)
    pipeline = demo_pipeline(engine, tmp_path, clock)
    run_simulated(pipeline, 20, 10)
    clock.advance(timedelta(minutes=10))
    pipeline.collect(pipeline.collectors[0])  # left unscored: the locked cycle must write
    before = _count(path)
    lock = _hold_write_lock(path)
    try:
        with caplog.at_level(logging.ERROR):
            run_simulated(pipeline, 20, 10)  # both cycles fail on their writes, and survive
    finally:
        lock.execute("COMMIT")
        lock.close()
    assert _count(path) == before
    assert "database is locked" in caplog.text and "processing failed" in caplog.text
    run_simulated(pipeline, 10, 10)  # the next cycle resumes from the saved cursor
    assert_complete(engine)


@dataclass
class PrivateServer:
    """A throwaway PostgreSQL in a temporary directory (the shared one is never restarted)."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        data = str(self.root / "data")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        cmd = [str(self.bin_dir / "pg_ctl"), "-D", data, "-o", options,
               "-l", str(self.root / "log"), "-w", *args]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True, timeout=60)

    def postmaster_pid(self) -> str:
        return (self.root / "data" / "postmaster.pid").read_text().split()[0]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture
def private_pg() -> Iterator[PrivateServer]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start a private PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="vigie-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = PrivateServer(Path(bins[-1]).parent, root, free_port())
    subprocess.run(_as_postgres([str(server.bin_dir / "initdb"), "-D", str(root / "data"),
                                 "-U", "postgres", "-A", "trust", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    server.ctl("start")
    try:
        yield server
    finally:
        subprocess.run(_as_postgres([str(server.bin_dir / "pg_ctl"), "-D", str(root / "data"),
                                     "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _busy(engine: Engine) -> bool:
    """A job is running: a restart now interrupts a cycle."""
    with engine.connect() as conn:
        running = conn.execute(
            text("SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
                 "AND queueing_lock IS NOT NULL")
        ).first()
    return running is not None


def _minute(engine: Engine) -> int:
    with engine.connect() as conn:
        cursor = conn.execute(select(CollectorState.cursor)).scalar()
    return cursor["minute"] if cursor else -1


def test_postgresql_restart_during_a_cycle_the_worker_reconnects_and_resumes(
    private_pg, tmp_path
):
    engine = make_engine(private_pg.url)
    upgrade(engine)
    clock = AcceleratedClock(datetime.now(UTC) - timedelta(hours=4), speed=600)
    pipeline = demo_pipeline(engine, tmp_path, clock)
    stop = threading.Event()
    options = WorkerOptions(process_every=1, heartbeat_seconds=2, stalled_seconds=30, name="w1")
    worker = threading.Thread(target=run_worker, args=(pipeline, options, stop))
    worker.start()
    try:
        wait_until(lambda: _minute(engine) > 20 and _busy(engine), 120, "a running job")
        old_pid = private_pg.postmaster_pid()
        private_pg.ctl("restart", "-m", "fast")
        assert private_pg.postmaster_pid() != old_pid
        resumed_from = _minute(engine)
        wait_until(lambda: _minute(engine) > resumed_from + 30, 120, "collection to resume")
        wait_until(lambda: stored(engine)[2] == 0, 120, "scoring to catch up")
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join(60)
    pipeline.process()  # what the next cycle would do: score what arrived since the last one
    assert_complete(engine)
    engine.dispose()
