"""Causal graph: graph_nodes and graph_edges.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graph_nodes",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("props", sa.Text(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_graph_nodes"),
    )
    op.create_index("ix_graph_nodes_kind_ts_ms", "graph_nodes", ["kind", "ts_ms"])

    op.create_table(
        "graph_edges",
        sa.Column("src", sa.String(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("dst", sa.String(), nullable=False),
        sa.Column("props", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("src", "type", "dst", name="pk_graph_edges"),
    )
    op.create_index("ix_graph_edges_dst_type", "graph_edges", ["dst", "type"])


def downgrade() -> None:
    op.drop_table("graph_edges")
    op.drop_table("graph_nodes")
