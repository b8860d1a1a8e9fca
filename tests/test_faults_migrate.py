"""Processes starting together on a fresh PostgreSQL database take turns migrating it (an
advisory lock): none dies on a duplicate ``alembic_version`` row or a table created twice."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import inspect

from monitor.storage.db import make_engine
from tests.support import ROOT

UPGRADE = "from monitor.storage.db import make_engine, upgrade; import sys; upgrade(make_engine(sys.argv[1]))"  # noqa: E501


def test_parallel_upgrades_of_a_fresh_database_all_succeed(pg_url: str):
    processes = [
        subprocess.Popen([sys.executable, "-c", UPGRADE, pg_url], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, "\n".join(outputs)[-3000:]
    engine = make_engine(pg_url)
    assert "login_failures" in inspect(engine).get_table_names()
    engine.dispose()
