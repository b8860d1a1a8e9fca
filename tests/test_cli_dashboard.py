"""``monitor dashboard`` as a process: SIGTERM stops it and its Streamlit child."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.alerts_fixtures import free_port
from tests.support import ROOT


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_sigterm_stops_the_dashboard_and_its_streamlit_child(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "VIGIE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "monitor", "dashboard", "--address", "127.0.0.1"]
    parent = subprocess.Popen([*cmd, "--port", str(port)], env=env, cwd=ROOT)
    children: list[int] = []
    try:
        assert _wait(lambda: _answers(port), 90), "the dashboard never answered"
        children = _children(parent.pid)
        assert children
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=30) == 0
        assert _wait(lambda: not _answers(port), 15), "Streamlit still answers after SIGTERM"
        assert not any(Path(f"/proc/{c}").exists() for c in children)
    finally:
        for pid in [parent.pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=10)


def test_alert_links_follow_the_port_the_dashboard_is_served_on(config):
    from monitor.cli import build_parser, dashboard_config

    args = build_parser().parse_args(["demo", "--port", "8642", "--address", "0.0.0.0"])
    assert dashboard_config(config, args).dashboard_url == "http://localhost:8642"
    args = build_parser().parse_args(["run", "--no-dashboard"])
    assert dashboard_config(config, args).dashboard_url == "http://localhost:8501"


def test_an_explicit_dashboard_url_wins(config):
    from monitor.cli import build_parser, dashboard_config

    chosen = config.model_copy(update={"dashboard_url": "https://vigie.example.com"})
    chosen.model_fields_set.add("dashboard_url")
    args = build_parser().parse_args(["demo", "--port", "8642"])
    assert dashboard_config(chosen, args).dashboard_url == "https://vigie.example.com"
