"""Kept OTLP spans (producer and error spans): otel_spans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signal_factory.stores.sql import spans  # noqa: F401  (registers this table on `schema.metadata`)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "otel_spans",
        sa.Column("trace_id", sa.String(), nullable=False),
        sa.Column("span_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("topic", sa.String(), nullable=True),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_otel_spans"),
    )
    op.create_index("ix_otel_spans_topic_offset", "otel_spans", ["topic", "offset"])
    op.create_index("ix_otel_spans_service_start_ms", "otel_spans", ["service", "start_ms"])
    op.create_index("ix_otel_spans_start_ms", "otel_spans", ["start_ms"])


def downgrade() -> None:
    op.drop_index("ix_otel_spans_start_ms", table_name="otel_spans")
    op.drop_index("ix_otel_spans_service_start_ms", table_name="otel_spans")
    op.drop_index("ix_otel_spans_topic_offset", table_name="otel_spans")
    op.drop_table("otel_spans")
