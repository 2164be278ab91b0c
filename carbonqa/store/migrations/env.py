"""Alembic environment: runs on the connection handed in by :func:`carbonqa.store.db.upgrade`."""

from alembic import context
from sqlalchemy import create_engine

from carbonqa.store.models import metadata

config = context.config


def run() -> None:
    """Run migrations online (on a given or a freshly made connection)."""
    conn = config.attributes.get("connection")
    if conn is None:
        eng = create_engine(config.get_main_option("sqlalchemy.url"))
        with eng.begin() as c:
            context.configure(connection=c, target_metadata=metadata, render_as_batch=True, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
