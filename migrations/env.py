"""Alembic environment of the copick_db catalog.

copick_db runs migrations itself (``copick_db.catalog.schema.upgrade``), handing alembic an open connection inside
a transaction, so the whole upgrade commits or rolls back as one.
"""

from alembic import context

from copick_db.catalog.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run copick_db migrations through `copick-db upgrade`, not the alembic command line.")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
