"""kill -9 of the scheduler at seeded random points in collection, scoring and alert delivery.

A reference ``python -m monitor demo --minutes`` runs uninterrupted. The same simulation is then
run by schedulers SIGKILLed one after the other, each kill aimed at a stage chosen by a seeded
random plan and landing a random number of sightings into it; a last ``python -m monitor demo``
finishes the simulation. Afterwards: the same mentions as the reference, none stored twice, every
one scored, and every alert email received by the loopback SMTP server exactly once per recipient
(counted by Message-ID at the server).

Where each kill lands is read, not guessed: the scheduler writes its Python stack on SIGUSR1 just
before the SIGKILL (see tests/faults_zygote.py, which also keeps each restart cheap).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select as io_select
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from monitor.storage.db import make_engine
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import Alert, AlertDelivery, Mention, Sentiment
from tests.alerts_fixtures import SmtpSink
from tests.faults_zygote import END_OF_STACK, STARTED
from tests.support import ROOT

SEED = 20261123
KILLS_PER_STAGE = 7
STAGES = ("collection", "scoring", "delivery")
# Room for 21 kills even when a loaded machine sights each stage less often (two test suites
# sharing 2 cores used up 150 simulated minutes before the 16th kill).
MINUTES, STEP = 240, 3
LAST_MINUTE = MINUTES - STEP  # the demo's first cycle opens its stream at minute 0
LEASE_SECONDS = 1.0
RECIPIENTS = ["lead@parkeo.test", "oncall@parkeo.test", "press@parkeo.test"]
CONFIG = f"""
brands:
  - name: Parkeo
    keywords: [parkeo]
    handles: ["@Parkeo"]
    languages: [fr, nl, en]
    alerts:
      recipients: {json.dumps(RECIPIENTS)}
      spreading: {{reshares_per_hour: 40, min_reshares: 20}}
      volume: {{window_minutes: 10, baseline_hours: 1, factor: 2.5, min_count: 10}}
sources:
  demo: {{interval_seconds: 2, seed: 7, incident_after_minutes: 12, rate_per_minute: 1.5}}
reports: {{enabled: false}}
"""
# Frames that say which stage the scheduler is in.
STAGE_FRAMES = {
    "delivery": " in deliver_pending",
    "detection": " in detect",
    "scoring": " in score_pending",
    "collection": "collectors/runner.py",  # Pipeline.collect → runner.run
}


@dataclass
class Kill:
    stage: str
    stack: str


def stage_of(stack: str) -> str:
    return next((s for s, frame in STAGE_FRAMES.items() if frame in stack), "other")


def safe_delivery_point(stack: str) -> bool:
    """Kills in delivery are aimed where the outcome is knowable: claiming and rendering (the row
    goes back to ``pending``), or waiting for the server's answer to DATA (the server has the
    message; the row becomes ``unknown`` and is not resent). Between marking a row ``sending`` and
    the server storing the message, a kill loses it by design (at-most-once, monitor.alerts.claims)
    so no kill is aimed there."""
    if " in transfer" in stack:
        return " in getreply" in stack
    return " in begin_sending" not in stack and " in prepare" not in stack


def demo_argv(config: Path, minutes: int, step: int) -> list[str]:
    return ["--config", str(config), "demo", "--minutes", str(minutes), "--step", str(step),
            "--no-dashboard"]


def env_for(data_dir: Path, sink: SmtpSink) -> dict[str, str]:
    env = {**os.environ, **sink.env(), "VIGIE_DATA_DIR": str(data_dir),
           "VIGIE_ALERT_LEASE_SECONDS": str(LEASE_SECONDS), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("DATABASE_URL", None)
    return env


def start_demo(config: Path, data_dir: Path, sink: SmtpSink, minutes: int,
               step: int) -> subprocess.Popen:
    """A real ``python -m monitor demo``, left to run to its end."""
    return subprocess.Popen([sys.executable, "-m", "monitor", *demo_argv(config, minutes, step)],
                            cwd=ROOT, env=env_for(data_dir, sink), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]


class Zygote:
    """The warm parent of tests/faults_zygote.py: forks schedulers the test can kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults_zygote"], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log.open("w"), text=True)
        assert self.read().get("ready"), self.log.read_text()[-3000:]

    def read(self) -> dict:
        line = self.proc.stdout.readline()
        assert line, f"the zygote died: {self.log.read_text()[-3000:]}"
        return json.loads(line)

    def fork(self, argv: list[str], dump: Path) -> int:
        """A new scheduler's pid, once it can answer SIGUSR1."""
        self.proc.stdin.write(json.dumps({"argv": argv, "dump": str(dump)}) + "\n")
        self.proc.stdin.flush()
        pid = self.read()["pid"]
        while not dump.read_text().startswith(STARTED) and not self.child_ended():
            time.sleep(0.0005)
        return pid

    def child_ended(self) -> bool:
        """Whether the zygote has reported the child's end (its status line is waiting)."""
        return bool(io_select.select([self.proc.stdout], [], [], 0)[0])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def read_stack(zygote: Zygote, pid: int, dump: Path) -> str:
    """The scheduler's Python stack, written on request ("" if the scheduler ended first).

    The stack is awaited however long a C call delays the handler: a stack read late and taken
    for the next request's would aim a kill at a stage the scheduler has already left."""
    size = dump.stat().st_size
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not zygote.child_ended():
        text = dump.read_bytes()[size:].decode("utf-8", errors="replace")
        if text.endswith(END_OF_STACK):
            return text
        assert time.monotonic() < deadline, f"no stack from the scheduler in 120 s: {zygote.log}"
        time.sleep(0.0005)
    return ""


def kill_in_stage(zygote: Zygote, argv: list[str], dump: Path, stage: str,
                  rng: random.Random) -> Kill | None:
    """Start a scheduler and SIGKILL it on the n-th sighting of ``stage`` (None: it finished)."""
    pid = zygote.fork(argv, dump)
    skip = rng.randint(0, 3)
    kill = None
    while kill is None and not zygote.child_ended():
        stack = read_stack(zygote, pid, dump)
        if stage_of(stack) == stage and (stage != "delivery" or safe_delivery_point(stack)):
            if skip == 0:
                os.kill(pid, signal.SIGKILL)
                kill = Kill(stage, stack)
            skip -= 1
        time.sleep(rng.uniform(0.002, 0.02))
    status = zygote.read()["status"]
    assert kill is not None or status == 0, (
        f"scheduler failed ({status}): {zygote.log.read_text()[-3000:]}")
    return kill


def remaining_minutes(engine: Engine) -> int:
    """Minutes left to simulate after a restart, which resumes at the cursor's minute."""
    with engine.connect() as conn:
        cursor = load_cursor(conn, "demo:Parkeo")
    return MINUTES if cursor is None else LAST_MINUTE - cursor["minute"]


def mentions(engine: Engine) -> Counter:
    with engine.connect() as conn:
        rows = conn.execute(select(Mention.external_id, Mention.text, Mention.author)).all()
    return Counter(tuple(r) for r in rows)


def test_kill_9_anywhere_then_restart_loses_and_repeats_nothing(tmp_path):
    config = tmp_path / "vigie.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    config.chmod(0o600)
    reference_sink, sink = SmtpSink().start(), SmtpSink().start()
    sink.recorder.delay = 0.3  # the "250" after DATA is slow: kills land while it is awaited
    data = tmp_path / "killed"
    zygote = Zygote(env_for(data, sink), tmp_path / "zygote.log")
    rng = random.Random(SEED)
    plan = [stage for stage in STAGES for _ in range(KILLS_PER_STAGE)]
    rng.shuffle(plan)
    engine = make_engine(f"sqlite:///{data / 'vigie.db'}")
    kills: list[Kill] = []
    reference = start_demo(config, tmp_path / "reference", reference_sink, MINUTES, STEP)
    try:
        for n, stage in enumerate(plan):
            # Always leave the last cycle to the final, uninterrupted run.
            minutes = remaining_minutes(engine) - STEP if n else MINUTES
            assert minutes >= STEP, f"the simulation ended before kill {n}: simulate longer"
            argv = demo_argv(config, minutes - minutes % STEP, STEP)
            kill = kill_in_stage(zygote, argv, tmp_path / f"stack-{n}.txt", stage, rng)
            assert kill is not None, f"the run ended before kill {n} ({stage}): simulate longer"
            kills.append(kill)
        time.sleep(LEASE_SECONDS + 0.5)  # the killed senders' leases run out
        last = remaining_minutes(engine)
        finish(start_demo(config, data, sink, last, last))
        finish(reference)
    finally:
        if reference.poll() is None:
            reference.kill()
        zygote.close()
        sink.stop()
        reference_sink.stop()

    assert Counter(k.stage for k in kills) == {s: KILLS_PER_STAGE for s in STAGES}
    uninterrupted = make_engine(f"sqlite:///{tmp_path / 'reference' / 'vigie.db'}")
    expected, got = mentions(uninterrupted), mentions(engine)
    assert set(expected.values()) == {1} and len(expected) > 100
    assert got == expected, "mentions lost or stored twice"
    with engine.connect() as conn:
        unscored = conn.execute(
            select(func.count()).where(~Mention.id.in_(select(Sentiment.mention_id)))
        ).scalar_one()
        rows = conn.execute(select(AlertDelivery.__table__)).all()
        kinds = set(conn.execute(select(Alert.kind)).scalars())
    with uninterrupted.connect() as conn:
        assert kinds == set(conn.execute(select(Alert.kind)).scalars()) >= {"spreading"}
    assert unscored == 0
    # "superseded": a revision replaced by a newer one (the alert grew) before it went out.
    assert {r.status for r in rows} <= {"sent", "unknown", "superseded"}
    handed_over = {(r.target, r.message_id) for r in rows if r.status in ("sent", "unknown")}
    received = sink.recorder.keys()
    assert len(received) == len(set(received)), "an alert reached a recipient twice"
    assert handed_over and set(received) == handed_over, "an alert was lost"
