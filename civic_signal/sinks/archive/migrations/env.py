"""Alembic environment: runs on the connection the archive hands in (or a URL)."""

from alembic import context
from sqlmodel import SQLModel

import civic_signal.sinks.archive.models  # noqa: F401  (registers the tables)
import civic_signal.sinks.archive.tables  # noqa: F401  (tables added by later features)

config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    import sqlalchemy as sa
    engine = sa.create_engine(config.attributes.get("connection_url") or config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
