"""The tables, as SQLAlchemy Core metadata: what the repositories query.

Every row keeps the full document as JSON text (`doc`, msgspec-encoded) next to the few columns the
queries filter and sort on. Times are epoch milliseconds (`*_ms`, BIGINT). The migrations in
`migrations/versions/` create exactly these tables; `tests/stores/test_migrations.py` checks that the
two never drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

evidence = Table(
    "evidence", metadata,
    Column("evidence_id", String(), primary_key=True),
    Column("dataset_urn", String(), nullable=False),
    Column("event_ms", BigInteger, nullable=False),  # Evidence.event_time(), see rows.event_ms
    Column("result", String(), nullable=False),
    Column("run_id", String()),  # producer.run_id, else lineage.spark_run_id
    Column("doc", Text, nullable=False),
    # The record's Kafka coordinates (source.topic/partition/offset): how a stream processor's evidence, which
    # names the records it consumed by coordinates, finds the enforcer's evidence of them (RCA, migration 0005).
    Column("source_topic", String()),
    Column("source_partition", Integer),
    Column("source_offset", BigInteger),
    Index(None, "dataset_urn", "event_ms"),
    Index(None, "run_id"),
    Index(None, "event_ms"),
    Index(None, "source_topic", "source_partition", "source_offset"),
)

#: One row per (evidence, reason code): the index behind signature queries and first/last-seen stats.
evidence_reason = Table(
    "evidence_reason", metadata,
    Column("evidence_id", String(), ForeignKey("evidence.evidence_id", ondelete="CASCADE"), primary_key=True),
    Column("signature", String(), primary_key=True),
    Column("dataset_urn", String(), nullable=False),
    Column("event_ms", BigInteger, nullable=False),
    Index(None, "signature", "dataset_urn", "event_ms"),
)

#: PASS records sampled out of the evidence, counted per minute. Counts are ADDED on conflict, so
#: writing the same tally twice counts it twice: callers make re-processing safe with a checkpoint
#: saved in the same transaction. `producer`/`producer_version` hold '' for "unknown" (key columns).
pass_tally = Table(
    "pass_tally", metadata,
    Column("dataset_urn", String(), primary_key=True),
    Column("minute", String(), primary_key=True),
    Column("producer", String(), primary_key=True),
    Column("producer_version", String(), primary_key=True),
    Column("minute_ms", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Index(None, "minute_ms"),
)

signal = Table(
    "signal", metadata,
    Column("signal_id", String(), primary_key=True),
    Column("signal_type", String(), nullable=False),
    Column("dataset_urn", String(), nullable=False),
    Column("state", String(), nullable=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("provisional", Boolean, nullable=False),
    Column("doc", Text, nullable=False),
    Index(None, "dataset_urn", "ts_ms"),
    Index(None, "signal_type", "ts_ms"),
    Index(None, "ts_ms"),
)

signal_state = Table(
    "signal_state", metadata,
    Column("dataset_urn", String(), primary_key=True),
    Column("state_key", String(), primary_key=True),
    Column("signal_type", String(), nullable=False),
    Column("state", String(), nullable=False),
    Column("doc", Text, nullable=False),
)

incident = Table(
    "incident", metadata,
    Column("incident_id", String(), primary_key=True),
    Column("status", String(), nullable=False),
    Column("dataset_urn", String(), nullable=False),
    Column("failure_signature", String(), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("doc", Text, nullable=False),
    Index(None, "dataset_urn", "failure_signature", "status"),
    Index(None, "status", "created_ms"),
    Index(None, "created_ms"),
)

#: Named counters (`incident` -> last number handed out as `INC-<n>`).
id_counter = Table(
    "id_counter", metadata,
    Column("name", String(), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

#: Notifications to send. `seq` keeps enqueue order; the mutable delivery fields live in columns
#: (and win over the same fields in `doc` when read back).
outbox = Table(
    "outbox", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", String(), nullable=False, unique=True),
    Column("status", String(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text),
    Column("doc", Text, nullable=False),
    Index(None, "status", "next_attempt_at"),
)

checkpoint = Table(
    "checkpoint", metadata,
    Column("source_key", String(), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

state_blob = Table(
    "state_blob", metadata,
    Column("name", String(), primary_key=True),
    Column("blob", LargeBinary, nullable=False),
)
