"""A sender killed with SIGKILL in the middle of a batch: nobody gets an alert twice.

The sender is a real ``python -m monitor alerts send`` process; the SMTP server is real and slow,
so the kill lands while a message is being handed over, the case where the outcome is unknown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from monitor.alerts.claims import UNKNOWN_NOTE
from monitor.alerts.deliver import deliver_pending
from tests.alerts_fixtures import SmtpSink, deliveries, queue, write_config
from tests.support import ROOT

ALERTS = 12
LEASE_SECONDS = 1.0


def _wait_for(condition, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"sender exited early: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("the sender made no progress")
        time.sleep(0.01)


def test_sender_killed_mid_batch_sends_nothing_twice(engine, db_url, tmp_path):
    config = write_config(tmp_path, "      recipients: [lead@acme.test, oncall@acme.test]")
    now = datetime.now(UTC)
    for n in range(ALERTS):
        queue(engine, now, f"spreading:{n}", details={"text": f"complaint {n}"})
    sink = SmtpSink().start()
    sink.recorder.delay = 0.1  # each DATA takes a while: the kill lands inside one
    env = {
        **os.environ,
        **sink.env(),
        "DATABASE_URL": db_url,
        "VIGIE_DATA_DIR": str(tmp_path),
        "VIGIE_ALERT_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    cmd = [sys.executable, "-m", "monitor", "--config", str(tmp_path / "vigie.yaml")]
    proc = subprocess.Popen(
        [*cmd, "alerts", "send", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Kill while the 6th message is in DATA: the server has it, the sender never learns so.
        _wait_for(lambda: sink.recorder.started >= 6, 120, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        time.sleep(LEASE_SECONDS + 0.5)  # let the dead sender's lease run out

        deliver_pending(engine, config, sink.settings(tmp_path), datetime.now(UTC))
    finally:
        if proc.poll() is None:
            proc.kill()
        sink.stop()

    rows = deliveries(engine)
    keys = sink.recorder.keys()
    assert len(rows) == 2 * ALERTS
    assert len(keys) == len(set(keys)), "a recipient got the same alert twice"
    statuses = [r.status for r in rows]
    assert set(statuses) <= {"sent", "unknown"}
    [lost] = [r for r in rows if r.status == "unknown"]
    assert UNKNOWN_NOTE in lost.last_error
    sent = {(r.target, r.message_id) for r in rows if r.status == "sent"}
    assert (lost.target, lost.message_id) in keys, "the server had it: resending would duplicate"
    assert sent | {(lost.target, lost.message_id)} == set(keys), "every alert reached its reader"
