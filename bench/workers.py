"""Worker mode's red-team figures (issue 18, scale-out), re-run on the local PostgreSQL: three
``run --worker`` processes on one database, ``w2`` with its clock 120 s ahead (libfaketime),
``w0`` killed (``SIGKILL``) in the middle of a job; every job every 6 s (three collections,
processing, weekly reports). Prints, for each job, the periods it ran and how often, the most
runs started within one 6 s window of database time, how early a period was deferred (against
the database's clock), who ran what, and how long the killed job took to run again.

    python bench/workers.py [--seconds 75]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, text  # noqa: E402

from monitor.storage.db import make_engine  # noqa: E402
from tests.support import PG_URL  # noqa: E402
from tests.test_workers import (  # noqa: E402
    CONFIG,
    PERIOD,
    REGISTERED,
    STARTED,
    _jobs,
    _skewed_env,
    _start,
)


def _schema_url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=75.0, help="how long the workers run")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), _schema_url(schema), args.seconds)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _now(engine: Engine) -> float:
    with engine.connect() as conn:
        now = conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
    return float(now)


def _running(engine: Engine, worker: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT id FROM procrastinate_jobs WHERE status = 'doing' "
                 "AND worker_id = :w AND queueing_lock IS NOT NULL"), {"w": worker}
        ).scalar()


def run(tmp: Path, url: str, seconds: float) -> None:
    config = tmp / "vigie.yaml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    env = {**os.environ, "DATABASE_URL": url, "VIGIE_DATA_DIR": str(tmp)}
    logs = {f"w{i}": tmp / f"w{i}.log" for i in range(3)}
    procs = {
        name: _start(name, config, {**env, **(_skewed_env() if name == "w2" else {})}, log)
        for name, log in logs.items()
    }
    engine = make_engine(url)
    ids: dict[str, int] = {}
    while len(ids) < 3:
        time.sleep(0.2)
        for log in logs.values():
            ids.update((m[1], int(m[2])) for m in REGISTERED.finditer(log.read_text()))
    started = time.monotonic()
    killed = None
    while killed is None:  # w0 frozen while the database says it runs a job, then killed
        time.sleep(0.01)
        job = _running(engine, ids["w0"])
        if job is None:
            continue
        procs["w0"].send_signal(signal.SIGSTOP)
        if _running(engine, ids["w0"]) == job:
            killed = job
        else:
            procs["w0"].send_signal(signal.SIGCONT)
    procs["w0"].send_signal(signal.SIGKILL)
    kill_time = _now(engine)
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        proc.wait(60)
    report(engine, logs, killed, kill_time, seconds)


def report(engine: Engine, logs: dict[str, Path], killed: int, kill_time: float,
           seconds: float) -> None:
    jobs = _jobs(engine)
    ran_on = {int(m[2]): m[1] for p in logs.values() for m in STARTED.finditer(p.read_text())}
    by_key = defaultdict(list)
    for job in jobs:
        by_key[job.key].append(job)
    print(f"3 workers (w2 at +120 s, w0 killed in job {killed}), every job every {PERIOD} s, "
          f"{seconds:.0f} s")
    print(f"{'job':20} {'periods':>7} {'runs':>5} {'max/period':>10} {'started/6s':>10} "
          f"{'early':>6}  ran on")
    total = 0
    for key, runs in sorted(by_key.items()):
        done = [j for j in runs if j.status == "succeeded"]
        total += len(done)
        per_period = Counter(j.period for j in runs)
        early = max(j.period - j.deferred.timestamp() for j in runs)
        windows = Counter(int(j.started.timestamp()) // PERIOD for j in done)
        workers = Counter(ran_on.get(j.id, "?") for j in done)
        print(f"{key:20} {len(per_period):>7} {len(done):>5} {max(per_period.values()):>10} "
              f"{max(windows.values()):>10} {early:>5.1f}s  {dict(sorted(workers.items()))}")
    print(f"runs in all: {total}")
    with engine.connect() as conn:
        events = conn.execute(
            text("SELECT type::text, extract(epoch FROM at)::float8 FROM procrastinate_events "
                 "WHERE job_id = :j ORDER BY at"), {"j": killed}
        ).all()
        job = next(j for j in jobs if j.id == killed)
        restarts = [at for kind, at in events if kind == "started" and at > kill_time]
        if not restarts:  # superseded: the next period's run took over
            restarts = [j.started.timestamp() for j in by_key[job.key]
                        if j.period > job.period and j.started]
    recovered = [at for kind, at in events if at > kill_time]
    print("killed job's events (s after the kill): "
          + ", ".join(f"{kind} {at - kill_time:+.1f}" for kind, at in events))
    print(f"killed job {killed} ({job.key}, period {job.period}): {job.status}; "
          f"recovered {recovered[0] - kill_time:.1f} s after the kill, "
          f"ran again {min(restarts) - kill_time:.1f} s after it")


if __name__ == "__main__":
    main()
