"""Two ``run`` schedulers on one database: only one acts, the other stands by and takes over
when it stops (no source fetched twice). A database that goes away is waited out with a backoff
and one log line, and one that comes back empty is migrated again before the scheduler resumes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from monitor.clock import SystemClock
from monitor.config import Brand, Settings, SourceConfig, VigieConfig
from monitor.mentions import Batch
from monitor.scheduler import Pipeline, run_forever
from monitor.storage import leader
from monitor.storage.db import make_engine

BRAND = Brand(name="Parkeo", keywords=["parkeo"])


class Counting:
    """A source that only counts how often it is fetched (the double fetches are the bug)."""

    source, brand, key = "feeds", "Parkeo", "feeds:Parkeo"

    def __init__(self) -> None:
        self.fetches = 0

    def collect(self, cursor: dict[str, Any] | None, now: datetime) -> Iterator[Batch]:
        self.fetches += 1
        yield Batch([], {"n": self.fetches})


class Scheduler:
    def __init__(self, engine: Engine, tmp_path) -> None:
        config = VigieConfig(brands=[BRAND], sources={"feeds": SourceConfig(interval_seconds=1)})
        self.source = Counting()
        settings = Settings(VIGIE_DATA_DIR=str(tmp_path))
        self.pipeline = Pipeline(engine, config, settings, SystemClock(), [self.source])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=run_forever, args=(self.pipeline, 3600, self.stop))
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def _until(condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("monitor.scheduler.STANDBY_SECONDS", 0.2)
    monkeypatch.setattr(leader, "CHECK_EVERY", 0.2)
    monkeypatch.setattr(leader, "MAX_BACKOFF", 0.5)


def test_two_schedulers_on_one_database_fetch_once(engine: Engine, tmp_path, quick, caplog):
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    with caplog.at_level(logging.INFO, logger="monitor.storage.leader"):
        first = Scheduler(engine, tmp_path)
        _until(lambda: first.source.fetches >= 1)
        second = Scheduler(other, tmp_path)
        _until(lambda: first.source.fetches >= 4)
        assert second.source.fetches == 0
        assert "another scheduler is running" in caplog.text
        first.halt()  # the leader stops: the one standing by takes over
        _until(lambda: second.source.fetches >= 2)
        second.halt()
    assert "this one takes over" in caplog.text
    other.dispose()


def test_a_database_that_comes_back_empty_is_migrated_and_resumed(
    engine: Engine, tmp_path, quick, caplog
):
    running = Scheduler(engine, tmp_path)
    _until(lambda: running.source.fetches >= 1)
    with caplog.at_level(logging.WARNING, logger="monitor.storage.leader"):
        _drop_everything(engine)
        before = running.source.fetches
        _until(lambda: running.source.fetches >= before + 2)
        running.halt()
    assert caplog.text.count("has no Vigie tables: migrating") == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM collector_state")).scalar() == 1


def _drop_everything(engine: Engine) -> None:
    """The database dropped and recreated: every table gone (the scheduler's connections live)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            return
        conn.execute(text("PRAGMA foreign_keys=OFF"))
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        for name in list(names):
            if not name.startswith("sqlite_"):
                conn.execute(text(f'DROP TABLE "{name}"'))


def test_an_unreachable_database_is_said_once_and_backed_off(caplog):
    engine = make_engine("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    availability = leader.Availability(engine)
    with caplog.at_level(logging.ERROR, logger="monitor.storage.leader"):
        waits = [availability.wait_seconds() for _ in range(8)]
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert caplog.text.count("unavailable") == 1 and "Traceback" not in caplog.text
    engine.dispose()
