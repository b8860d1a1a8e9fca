"""Alembic environment: runs on the engine handed over by ``monitor.storage.db.upgrade``."""

from alembic import context

from monitor.storage.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
