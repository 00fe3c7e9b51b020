"""Alembic environment: always run programmatically with a live connection (see store/db.py)."""

from alembic import context

from truelabel.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
