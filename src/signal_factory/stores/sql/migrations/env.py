"""Alembic environment: runs on the connection `stores.sql.migrate` passes in `config.attributes`."""

from __future__ import annotations

from alembic import context

from signal_factory.stores.sql import graph_schema  # noqa: F401  (registers the graph tables on `metadata`)
from signal_factory.stores.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the Signal Factory migrations run on a connection passed in by the code, not from the alembic CLI; "
        "fix: call signal_factory.stores.sql.migrate.upgrade(engine) (open_store does this on open)")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
