"""Worker mode on procrastinate, on the local PostgreSQL: three real worker processes (one with
its clock two minutes ahead, one killed mid-job) run every periodic job once per period,
weekly reports included; a frozen worker whose job went to another ends itself; SQLite is
refused in one line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from procrastinate.jobs import Status
from sqlalchemy import Engine, text

from monitor.clock import DatabaseClock
from monitor.storage.db import make_engine
from monitor.storage.queue import Watchdog, ensure_schema, queue_app, recover_stalled
from monitor.workers import cron_every
from tests.replay.server import Reply, serving
from tests.support import ROOT, wait_until

PERIOD = 6  # seconds: collections, processing and reports
SKEW = 120  # seconds ahead, for one worker
CONFIG = f"""
brands:
  - name: Alpha
    keywords: [alpha]
  - name: Beta
    keywords: [beta]
  - name: Gamma
    keywords: [gamma]
sources:
  demo:
    interval_seconds: {PERIOD}
reports:
  enabled: true
"""
KEYS = {"collect:demo:Alpha", "collect:demo:Beta", "collect:demo:Gamma", "process", "reports"}
STARTED = re.compile(r"procrastinate\.worker\.(w\d): Starting job vigie\.\w+\[(\d+)\]")
REGISTERED = re.compile(r"worker (w\d) started as procrastinate worker (\d+)")
JOBS = text(
    """
    SELECT j.id, j.queueing_lock AS key, (j.args->>'timestamp')::bigint AS period, j.status,
           j.attempts,
           min(e.at) FILTER (WHERE e.type = 'deferred') AS deferred,
           min(e.at) FILTER (WHERE e.type = 'started') AS started,
           count(*) FILTER (WHERE e.type = 'started') AS starts
      FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id
     WHERE j.queueing_lock IS NOT NULL
     GROUP BY j.id ORDER BY j.id
    """
)


def _skewed_env() -> dict[str, str]:
    libfaketime = pytest.importorskip("libfaketime", reason="pip install -r requirements-dev.txt")
    _, env = libfaketime.get_reload_information()
    return {**env, "FAKETIME": f"+{SKEW}s", "DONT_FAKE_MONOTONIC": "1"}


def _no_op() -> None:
    """The test's own task: only its rows matter."""


def _jobs(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(JOBS).all()


def test_cron_periods_align_on_the_clock():
    assert cron_every(2) == "* * * * * */2"
    assert cron_every(300) == "*/5 * * * *"
    assert cron_every(3600) == "0 */1 * * *"
    assert cron_every(50) == "*/1 * * * *"  # the nearest period that divides an hour
    assert cron_every(7 * 86400) == "0 0 * * *"


def test_worker_mode_on_sqlite_is_refused_in_one_line(tmp_path: Path):
    database = tmp_path / "vigie.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "VIGIE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--worker"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vigie: worker mode needs PostgreSQL (DATABASE_URL=postgresql://…); "
        "on SQLite, run the single-process scheduler: python -m monitor run"
    ]
    assert not database.exists()


def test_a_skewed_worker_stamps_the_database_time(pg_url):
    """Vigie's own times in worker mode (collection runs, backoffs, detection windows)."""
    script = (
        "import sys; from datetime import UTC, datetime; from monitor.clock import DatabaseClock;"
        "from monitor.storage.db import make_engine;"
        "c = DatabaseClock(make_engine(sys.argv[1]));"
        "print((c.now() - datetime.now(UTC)).total_seconds())"
    )
    env = {**os.environ, **_skewed_env()}
    done = subprocess.run([sys.executable, "-c", script, pg_url], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert -SKEW - 5 < float(done.stdout) < -SKEW + 5  # its own clock is 2 minutes ahead
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        server = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    assert abs((DatabaseClock(engine).now() - server).total_seconds()) < 5
    engine.dispose()


def test_the_watchdog_stops_a_worker_whose_job_went_to_another(pg_url):
    """A worker cannot stop a synchronous job from outside; it ends itself instead, before
    (or as soon as) another worker is given the job."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    app = queue_app(engine)
    app.task(name="slow", lock="slow", queueing_lock="slow")(_no_op)

    async def take(stale: bool) -> tuple[int, int]:
        async with app.open_async():
            await app.configure_task("slow").defer_async()
            worker = await app.job_manager.register_worker()
            job = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            if stale:  # this worker's heartbeat stopped; another worker recovers its job
                with engine.begin() as conn:
                    conn.execute(text("UPDATE procrastinate_workers SET last_heartbeat = "
                                      "now() - interval '1 hour' WHERE id = :w"), {"w": worker})
                assert await recover_stalled(app, 3) == [job.id]
            return worker, job.id

    fenced = threading.Event()
    watchdog = Watchdog(engine, heartbeat=1, stalled=3, on_lost=fenced.set)
    watchdog.worker_id, job = asyncio.run(take(stale=False))
    with watchdog.running(job):
        watchdog.check()
        assert not fenced.is_set()  # fresh heartbeat, the job is its own
        with engine.begin() as conn:  # the heartbeat stops (a stuck loop): it ends in time
            conn.execute(text("UPDATE procrastinate_workers SET last_heartbeat = "
                              "clock_timestamp() - interval '2.5 seconds'"))
        watchdog.check()
        assert fenced.is_set()
    with engine.begin() as conn:
        conn.execute(text("UPDATE procrastinate_jobs SET status = 'succeeded'"))

    fenced.clear()
    watchdog.worker_id, job = asyncio.run(take(stale=True))
    with watchdog.running(job):
        watchdog.check()
    assert fenced.is_set()  # the job was queued again for another worker
    engine.dispose()


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>slow-1</guid><title>Alpha</title><link>https://news.example/1</link></item>
</channel></rss>"""


@pytest.mark.slow
def test_a_frozen_worker_whose_job_went_to_another_ends_itself(pg_url, tmp_path: Path):
    """w0 is frozen (SIGSTOP) in the middle of a collection; w1 takes the job over once w0's
    heartbeat is stale. Thawed, w0 must not go on with the job: it ends itself (exit 75).

    w1 runs either the job itself, retried, or, when the next period was queued before w0 was
    declared stalled, that next run (the stalled one then ends "failed"): either way one
    collection succeeds, by w1, and the item is stored once."""
    release = threading.Event()
    with serving() as server:
        server.add("GET", "/slow.rss",
                   Reply(200, RSS, {"Content-Type": "application/rss+xml"}, hold=release))
        config = tmp_path / "vigie.yaml"
        config.write_text(
            "brands:\n  - name: Alpha\n    keywords: [alpha]\n    sources:\n"
            f"      feeds: {{urls: ['{server.url}/slow.rss'], match_brand: false}}\n"
            "sources:\n  feeds: {interval_seconds: 60, timeout_seconds: 60}\n"
            "reports: {enabled: false}\n"
        )
        config.chmod(0o600)
        env = {**os.environ, "DATABASE_URL": pg_url, "VIGIE_DATA_DIR": str(tmp_path)}
        logs = {name: tmp_path / f"{name}.log" for name in ("w0", "w1")}
        procs = {"w0": _start("w0", config, env, logs["w0"])}
        engine = make_engine(pg_url)
        try:
            wait_until(lambda: server.arrived.is_set()
                       and REGISTERED.search(logs["w0"].read_text()),
                       180, "w0 to start its collection")
            procs["w0"].send_signal(signal.SIGSTOP)
            w0 = int(REGISTERED.search(logs["w0"].read_text())[2])
            assert _collection(engine) == ("doing", w0)
            procs["w1"] = _start("w1", config, env, logs["w1"])
            wait_until(lambda: _collection(engine) != ("doing", w0), 120, "w1 to take the job over")
            procs["w0"].send_signal(signal.SIGCONT)
            assert procs["w0"].wait(60) == 75
            release.set()
            wait_until(lambda: _collections_succeeded(engine) >= 1, 120, "w1 to finish it")
        finally:
            release.set()
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGCONT)
                    proc.send_signal(signal.SIGTERM)
            codes = {name: proc.wait(60) for name, proc in procs.items()}
    assert codes == {"w0": 75, "w1": 0}, {n: p.read_text()[-3000:] for n, p in logs.items()}
    assert re.search(r"worker \d+ stops while running job\(s\) \d+: ", logs["w0"].read_text())
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM mentions")).scalar_one()
    assert stored == 1  # the item once, by w1
    engine.dispose()


def _collections_succeeded(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE queueing_lock = 'collect:feeds:Alpha' AND status = 'succeeded'"
        )).scalar_one()


def _collection(engine: Engine) -> tuple[str, int | None]:
    """The first collection job's state and its worker's procrastinate id."""
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT status, worker_id FROM procrastinate_jobs "
            "WHERE queueing_lock = 'collect:feeds:Alpha' ORDER BY id LIMIT 1"
        )).first()
    return (row.status, row.worker_id) if row else ("none", None)


def test_a_retry_that_meets_the_next_run_queued_does_not_hold_the_job(pg_url):
    """A failed periodic run is retried, but its next period may already wait under the same
    queueing lock: procrastinate's retry then fails and the job stayed "doing" for ever, its
    lock held (after a database restart, processing never ran again)."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    app = queue_app(engine)
    task = app.task(name="slow", lock="slow", queueing_lock="slow")(_no_op)

    async def scenario() -> tuple[bool, bool]:
        async with app.open_async():
            await task.defer_async()
            worker = await app.job_manager.register_worker()
            first = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            await task.defer_async()  # the next period, queued while the first runs
            alone = await app.job_manager.retry_job_by_id_async(first.id)  # it failed
            nxt = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            await app.job_manager.finish_job(nxt, status=Status.FAILED, delete_job=False)
            await task.defer_async()
            third = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            again = await app.job_manager.retry_job_by_id_async(third.id)  # nothing queued
            return alone, again

    assert asyncio.run(scenario()) == (False, True)
    with engine.connect() as conn:
        states = conn.execute(text("SELECT status FROM procrastinate_jobs ORDER BY id")).scalars()
        assert list(states) == ["failed", "failed", "todo"]
    engine.dispose()


def _start(name: str, config: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    args = ["--worker-id", name, "--process-every", str(PERIOD), "--reports-every", str(PERIOD),
            "--heartbeat-seconds", "1", "--stalled-seconds", "5"]
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run", "--worker", *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )


def _done_after(engine: Engine, since: datetime, runs: int) -> bool:
    finished = defaultdict(int)
    for job in _jobs(engine):
        if job.status == "succeeded" and job.started and job.started > since:
            finished[job.key] += 1
    return all(finished[key] >= runs for key in KEYS)


@pytest.mark.slow
def test_three_workers_one_skewed_one_killed_run_each_period_once(pg_url, tmp_path: Path):
    config = tmp_path / "vigie.yaml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    env = {**os.environ, "DATABASE_URL": pg_url, "VIGIE_DATA_DIR": str(tmp_path)}
    logs = {f"w{i}": tmp_path / f"w{i}.log" for i in range(3)}
    # Started together on a fresh schema: Vigie's and procrastinate's schemas take turns.
    procs = {
        name: _start(name, config, {**env, **(_skewed_env() if name == "w2" else {})}, log)
        for name, log in logs.items()
    }
    engine = make_engine(pg_url)
    try:
        ids: dict[str, int] = {}

        def registered() -> bool:
            for log in logs.values():
                ids.update((m[1], int(m[2])) for m in REGISTERED.finditer(log.read_text()))
            return len(ids) == 3 or any(p.poll() is not None for p in procs.values())

        wait_until(registered, 180, "three workers")
        assert len(ids) == 3, {n: p.read_text()[-2000:] for n, p in logs.items()}

        def busy() -> int | None:
            with engine.connect() as conn:
                return conn.execute(
                    text("SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
                         "AND worker_id = :w AND queueing_lock IS NOT NULL"), {"w": ids["w0"]}
                ).scalar()

        killed: list[int] = []

        def frozen_mid_job() -> bool:
            """w0 stopped while the database says it runs a job (not just after it ended)."""
            job = busy()
            if job is None:
                return False
            procs["w0"].send_signal(signal.SIGSTOP)
            if busy() == job:
                killed.append(job)
                return True
            procs["w0"].send_signal(signal.SIGCONT)
            return False

        wait_until(frozen_mid_job, 120, "w0 busy")
        procs["w0"].send_signal(signal.SIGKILL)
        procs["w0"].wait(10)
        with engine.connect() as conn:
            kill_time = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        # Recovered, then every job runs twice more on the two survivors.
        wait_until(lambda: _done_after(engine, kill_time, 2), 120,
                   "two more periods after the kill")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {name: proc.wait(60) for name, proc in procs.items()}

    texts = {name: log.read_text() for name, log in logs.items()}
    assert codes["w1"] == 0 and codes["w2"] == 0, {n: texts[n][-3000:] for n in ("w1", "w2")}
    ran_on = {int(m[2]): m[1] for t in texts.values() for m in STARTED.finditer(t)}
    jobs = _jobs(engine)
    by_key = defaultdict(list)
    for job in jobs:
        by_key[job.key].append(job)
    assert set(by_key) == KEYS  # weekly reports run in worker mode too
    assert "w2" in {ran_on.get(job.id) for job in jobs}  # the skewed worker took its share

    for key, runs in by_key.items():
        periods = [job.period for job in runs]
        assert len(periods) == len(set(periods)), f"{key}: a period ran twice"
        for job in runs:
            # Periods come from the database's clock: none deferred before it came, nor long
            # after it (a worker starting mid-period defers the period under way).
            assert job.period <= job.deferred.timestamp() + 1, f"{key}: {job.period} early"
            assert job.deferred.timestamp() < job.period + 2 * PERIOD, f"{key}: {job.period} late"
            assert job.period % PERIOD == 0
        _assert_every_period_ran(key, runs)

    killed_job = next(job for job in jobs if job.id == killed[0])
    assert ran_on[killed_job.id] == "w0"
    if killed_job.status == "succeeded":  # queued again and finished by a survivor
        assert killed_job.starts == 2 and killed_job.attempts == 2
    else:  # its next period was already queued: that run resumed from the same cursor
        assert killed_job.status == "failed"
        later = [j for j in by_key[killed_job.key] if j.period > killed_job.period]
        assert later and later[0].status == "succeeded"
    for job in jobs:
        assert job.status != "doing", f"job {job.id} of {job.key} left running"
        if job.id != killed_job.id:
            assert job.status in ("succeeded", "todo"), f"job {job.id}: {job.status}"

    summary = subprocess.run([sys.executable, "-m", "monitor", "jobs"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert all(key in summary for key in KEYS)
    listed = subprocess.run(
        [sys.executable, "-m", "monitor", "jobs", "--shell", "list_jobs", "task=vigie.reports"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # procrastinate's shell
    assert len(re.findall(r"^#\d+ vigie\.reports on default - \[", listed, re.M)) == len(
        by_key["reports"]
    )
    engine.dispose()


def _assert_every_period_ran(key: str, runs: list) -> None:
    """No period between the first and the last is missing, except while the job's previous run
    still waited (its queueing lock keeps one run waiting, never a pile)."""
    seen = {job.period for job in runs}
    for period in range(min(seen), max(seen), PERIOD):
        if period in seen:
            continue
        waiting = [j for j in runs if j.deferred.timestamp() <= period
                   and (j.started is None or j.started.timestamp() >= period)]
        assert waiting, f"{key}: period {period} skipped while nothing of it waited"
