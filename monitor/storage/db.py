"""Engines and schema upgrades for SQLite (default) and PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Held (transaction-scoped) while a PostgreSQL schema changes: Vigie's migrations and the job
# queue's schema. "VIGIE" + 1: one key for every Vigie database.
MIGRATION_LOCK = 0x56_49_47_49_45_01
log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the dashboard read while the scheduler writes; busy_timeout waits out locks."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class DatabaseError(Exception):
    """The database named by ``DATABASE_URL`` cannot be used: one line a user can act on."""


def _parse(url: str) -> URL:
    """``postgres://`` (what many hosts hand out) and ``postgresql://`` mean psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            "DATABASE_URL is not a database URL (e.g. postgresql://user:password@host/db)"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings Vigie relies on for the given backend."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    except ArgumentError as exc:  # NoSuchModuleError: a scheme no installed driver speaks
        raise DatabaseError(
            f"DATABASE_URL {redacted(url)}: unsupported kind of database ({exc}); "
            "use sqlite:///path or postgresql://user:password@host/db"
        ) from None


def redacted(url: str) -> str:
    """The URL with its password masked, for logs and the dashboard."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def unreachable(exc: DBAPIError, url: str) -> DatabaseError:
    """A driver's connection failure as one line (its first), without the password."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return DatabaseError(f"cannot reach the database at {redacted(url)}: {reason}")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to run on every start."""
    log.info("upgrading database %s to %s", redacted(str(engine.url)), revision)
    command.upgrade(alembic_config(engine), revision)
