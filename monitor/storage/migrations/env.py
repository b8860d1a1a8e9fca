"""Alembic environment: runs on the engine handed over by ``monitor.storage.db.upgrade``.

On PostgreSQL the migration holds a transaction-scoped advisory lock: processes started together
on a fresh database (workers, the dashboard) take turns, and each one after the first finds the
schema already current, instead of one dying on a duplicate ``alembic_version`` row.
"""

from alembic import context
from sqlalchemy import text

from monitor.storage.db import MIGRATION_LOCK
from monitor.storage.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
