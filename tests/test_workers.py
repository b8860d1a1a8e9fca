"""Scale-out on the local PostgreSQL: three workers share the jobs, one is killed mid-run."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from monitor.storage.db import make_engine, upgrade
from monitor.storage.leases import claim, ensure_jobs, finish
from monitor.storage.tables import JobLease
from tests.support import ROOT

CONFIG = """
brands:
  - name: Alpha
    keywords: [alpha]
  - name: Beta
    keywords: [beta]
  - name: Gamma
    keywords: [gamma]
sources:
  demo:
    interval_seconds: 1
"""
LINE = re.compile(r"^(\S+ \S+) INFO +monitor\.workers: job (\S+) (started|finished) by (\S+)$")


def test_a_lease_is_held_by_one_worker_and_expires(engine):
    t0 = datetime(2026, 11, 23, tzinfo=UTC)
    ensure_jobs(engine, ["collect:x", "process"], t0)
    lease = timedelta(seconds=30)
    first = claim(engine, "w1", t0, lease, ["collect:x", "process"], limit=2)
    assert sorted(first) == ["collect:x", "process"]
    assert claim(engine, "w2", t0 + timedelta(seconds=10), lease, ["collect:x"]) == []
    # w1 died: after the lease, w2 takes the job over; w1's late finish changes nothing.
    assert claim(engine, "w2", t0 + timedelta(seconds=31), lease, ["collect:x"]) == ["collect:x"]
    finish(engine, "collect:x", "w1", t0 + timedelta(seconds=32), t0 + timedelta(hours=1))
    with engine.connect() as conn:
        owner = conn.execute(select(JobLease.owner).where(JobLease.name == "collect:x")).scalar()
    assert owner == "w2"


def _spans(logs: dict[str, str], killed: str, kill_time: datetime) -> dict[str, list]:
    """Per job: (start, end, worker) spans parsed from the workers' logs."""
    open_spans: dict[tuple[str, str], datetime] = {}
    spans: dict[str, list] = {}
    for text in logs.values():
        for line in text.splitlines():
            m = LINE.match(line)
            if not m:
                continue
            at = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
            if m[3] == "started":
                open_spans[(m[2], m[4])] = at
            else:
                spans.setdefault(m[2], []).append((open_spans.pop((m[2], m[4])), at, m[4]))
    for (job, worker), start in open_spans.items():
        end = kill_time if worker == killed else datetime.now(UTC)
        spans.setdefault(job, []).append((start, end, worker))
    return spans


def test_three_workers_run_each_job_once_at_a_time_and_survive_a_kill(pg_url, tmp_path: Path):
    config = tmp_path / "vigie.yaml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    engine = make_engine(pg_url)
    upgrade(engine)
    env = {**os.environ, "DATABASE_URL": pg_url, "VIGIE_DATA_DIR": str(tmp_path)}
    logs = {f"w{i}": tmp_path / f"w{i}.log" for i in range(3)}
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "--config",
                str(config),
                "run",
                "--worker",
                "--worker-id",
                name,
                "--lease-seconds",
                "4",
                "--process-every",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=path.open("w"),
        )
        for name, path in logs.items()
    }
    try:
        victim_job = None
        deadline = time.monotonic() + 90
        while victim_job is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                victim_job = conn.execute(
                    select(JobLease.name).where(JobLease.owner == "w0")
                ).scalar()
            time.sleep(0.05)
        assert victim_job, "worker w0 never held a lease"
        procs["w0"].send_signal(signal.SIGKILL)
        kill_time = datetime.now(UTC)
        procs["w0"].wait(10)
        time.sleep(12)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(60)

    with engine.connect() as conn:
        jobs = {j.name: j for j in conn.execute(select(JobLease.__table__))}
    engine.dispose()
    assert set(jobs) == {"collect:demo:Alpha", "collect:demo:Beta", "collect:demo:Gamma", "process"}
    # The job the killed worker held was taken over and finished by another worker.
    taken_over = jobs[victim_job]
    assert taken_over.last_finished_at > kill_time and taken_over.owner != "w0"

    spans = _spans({n: p.read_text() for n, p in logs.items()}, "w0", kill_time)
    for job, runs in spans.items():
        runs.sort()
        for (_, end, worker), (start, _, other) in itertools.pairwise(runs):
            assert start >= end - timedelta(milliseconds=5), (
                f"{job} ran on {worker} and {other} at once"
            )
    workers_used = {w for runs in spans.values() for _, _, w in runs}
    assert workers_used == {"w0", "w1", "w2"}
