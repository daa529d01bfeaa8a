"""OpenLineage catalog (jobs and datasets with their facets) and static events: openlineage_jobs,
openlineage_datasets, openlineage_static_events (DatasetEvents and JobEvents as received).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signal_factory.stores.sql import openlineage  # noqa: F401  (registers these tables on `schema.metadata`)

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("openlineage_jobs", "openlineage_datasets"):
        op.create_table(
            table,
            sa.Column("namespace", sa.String(), nullable=False),
            sa.Column("name", sa.String(), nullable=False),
            sa.Column("updated_ms", sa.BigInteger(), nullable=False),
            sa.Column("doc", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("namespace", "name", name=f"pk_{table}"),
        )
    op.create_table(
        "openlineage_static_events",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("event_time", sa.String(), nullable=False),
        sa.Column("event_ms", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "namespace", "name", "event_time", name="pk_openlineage_static_events"),
    )


def downgrade() -> None:
    op.drop_table("openlineage_static_events")
    op.drop_table("openlineage_datasets")
    op.drop_table("openlineage_jobs")
