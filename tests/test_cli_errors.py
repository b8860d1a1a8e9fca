"""What a user sees when a command cannot do its job: one clear line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from monitor.storage.db import make_engine
from tests.support import PG_URL, ROOT


def vigie(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """``python -m monitor`` in a child process, as a user runs it."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=120,
    )


def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path):
    url = "postgresql://vigie:s3cret@127.0.0.1:1/vigie"
    done = vigie("sources", env={"DATABASE_URL": url, "VIGIE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("vigie:")]
    assert len(errors) == 1 and "cannot reach the database" in errors[0]
    assert "127.0.0.1:1" in errors[0] and "s3cret" not in done.stderr


def test_a_database_url_of_an_unknown_kind_is_one_line_and_exit_2(tmp_path):
    done = vigie("sources", env={"DATABASE_URL": "mysql2://x@y/z"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "DATABASE_URL" in done.stderr


def test_postgres_scheme_is_accepted(pg_url):
    engine = make_engine(pg_url.replace("postgresql://", "postgres://", 1))
    assert engine.url.drivername == "postgresql+psycopg"
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    engine.dispose()


def test_postgres_scheme_works_from_the_command_line(pg_url, tmp_path):
    done = vigie("db", "upgrade", env={"DATABASE_URL": pg_url.replace("postgresql", "postgres", 1)})
    assert done.returncode == 0, done.stderr
    assert PG_URL.split("@")[1].split("/")[0] in done.stdout
