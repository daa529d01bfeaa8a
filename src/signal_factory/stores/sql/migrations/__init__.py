"""Alembic environment and revisions of the SQL store (run by `stores.sql.migrate.upgrade`)."""
