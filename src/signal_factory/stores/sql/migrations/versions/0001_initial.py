"""Initial schema: evidence, reason codes, PASS tallies, signals, signal state, incidents, outbox,
checkpoints and state blobs.

Revision ID: 0001
Revises:
Create Date: 2024-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("state_blob", "checkpoint", "outbox", "id_counter", "incident", "signal_state", "signal",
           "pass_tally", "evidence_reason", "evidence")


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("evidence_id", sa.String(), nullable=False),
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("event_ms", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("evidence_id", name="pk_evidence"),
    )
    op.create_index("ix_evidence_dataset_urn_event_ms", "evidence", ["dataset_urn", "event_ms"])
    op.create_index("ix_evidence_run_id", "evidence", ["run_id"])
    op.create_index("ix_evidence_event_ms", "evidence", ["event_ms"])

    op.create_table(
        "evidence_reason",
        sa.Column("evidence_id", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("event_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.evidence_id"], ondelete="CASCADE",
                                name="fk_evidence_reason_evidence_id_evidence"),
        sa.PrimaryKeyConstraint("evidence_id", "signature", name="pk_evidence_reason"),
    )
    op.create_index("ix_evidence_reason_signature_dataset_urn_event_ms", "evidence_reason",
                    ["signature", "dataset_urn", "event_ms"])

    op.create_table(
        "pass_tally",
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("minute", sa.String(), nullable=False),
        sa.Column("producer", sa.String(), nullable=False),
        sa.Column("producer_version", sa.String(), nullable=False),
        sa.Column("minute_ms", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_urn", "minute", "producer", "producer_version", name="pk_pass_tally"),
    )
    op.create_index("ix_pass_tally_minute_ms", "pass_tally", ["minute_ms"])

    op.create_table(
        "signal",
        sa.Column("signal_id", sa.String(), nullable=False),
        sa.Column("signal_type", sa.String(), nullable=False),
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("signal_id", name="pk_signal"),
    )
    op.create_index("ix_signal_dataset_urn_ts_ms", "signal", ["dataset_urn", "ts_ms"])
    op.create_index("ix_signal_signal_type_ts_ms", "signal", ["signal_type", "ts_ms"])
    op.create_index("ix_signal_ts_ms", "signal", ["ts_ms"])

    op.create_table(
        "signal_state",
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("state_key", sa.String(), nullable=False),
        sa.Column("signal_type", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_urn", "state_key", name="pk_signal_state"),
    )

    op.create_table(
        "incident",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("dataset_urn", sa.String(), nullable=False),
        sa.Column("failure_signature", sa.String(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name="pk_incident"),
    )
    op.create_index("ix_incident_dataset_urn_failure_signature_status", "incident",
                    ["dataset_urn", "failure_signature", "status"])
    op.create_index("ix_incident_status_created_ms", "incident", ["status", "created_ms"])
    op.create_index("ix_incident_created_ms", "incident", ["created_ms"])

    op.create_table(
        "id_counter",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_id_counter"),
    )

    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("notification_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("doc", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_outbox"),
        sa.UniqueConstraint("notification_id", name="uq_outbox_notification_id"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "checkpoint",
        sa.Column("source_key", sa.String(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source_key", name="pk_checkpoint"),
    )

    op.create_table(
        "state_blob",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_state_blob"),
    )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
