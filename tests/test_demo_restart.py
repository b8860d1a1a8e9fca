"""A restarted demo continues exactly where it stopped: the same mentions and the same
engagement polls as an uninterrupted run (a restart used to skip the poll of the minute after
the cursor, one engagement snapshot lost per restart for every tracked post)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from monitor.storage.db import make_engine
from monitor.storage.ingest import load_cursor
from monitor.storage.tables import EngagementSnapshot, Mention
from tests.support import ROOT


def _demo(data: Path, minutes: int) -> None:
    env = {**os.environ, "VIGIE_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    env.pop("SMTP_HOST", None)
    argv = ["demo", "--minutes", str(minutes), "--step", "1", "--no-dashboard"]
    config = str(ROOT / "vigie.example.yaml")
    command = [sys.executable, "-m", "monitor", "--config", config, *argv]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]


def _polls(data: Path) -> tuple[set, set]:
    """Mentions and engagement polls, timed in minutes from the stream's start."""
    engine = make_engine(f"sqlite:///{data / 'vigie.db'}")
    with engine.connect() as conn:
        epoch = datetime.fromisoformat(load_cursor(conn, "demo:Parkeo")["epoch"])
        mentions = set(conn.execute(select(Mention.external_id)).scalars())
        snapshots = {
            (external_id, (observed - epoch).total_seconds() / 60, reshares)
            for external_id, observed, reshares in conn.execute(
                select(
                    Mention.external_id, EngagementSnapshot.observed_at, EngagementSnapshot.reshares
                ).join(Mention)
            )
        }
    engine.dispose()
    return mentions, snapshots


def test_a_restart_loses_no_poll(tmp_path: Path):
    _demo(tmp_path / "reference", 12)
    for _ in range(2):  # stopped and restarted
        _demo(tmp_path / "restarted", 6)
    reference, restarted = _polls(tmp_path / "reference"), _polls(tmp_path / "restarted")
    assert restarted[0] == reference[0]
    missing, extra = reference[1] - restarted[1], restarted[1] - reference[1]
    assert not missing and not extra, (sorted(missing)[:5], sorted(extra)[:5])
