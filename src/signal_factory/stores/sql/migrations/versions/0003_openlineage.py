"""OpenLineage runs and their events: openlineage_runs, openlineage_events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signal_factory.stores.sql import openlineage  # noqa: F401  (registers these tables on `schema.metadata`)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "openlineage_runs",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("job_namespace", sa.String(), nullable=False),
        sa.Column("job_name", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_openlineage_runs"),
    )
    op.create_index("ix_openlineage_runs_job_namespace_job_name", "openlineage_runs", ["job_namespace", "job_name"])

    op.create_table(
        "openlineage_events",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("event_time", sa.String(), nullable=False),
        sa.Column("event_ms", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "event_type", "event_time", name="pk_openlineage_events"),
    )


def downgrade() -> None:
    op.drop_table("openlineage_events")
    op.drop_index("ix_openlineage_runs_job_namespace_job_name", table_name="openlineage_runs")
    op.drop_table("openlineage_runs")
