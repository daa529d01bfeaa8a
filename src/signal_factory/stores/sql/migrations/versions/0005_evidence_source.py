"""Evidence source coordinates: evidence.source_topic, source_partition, source_offset (indexed).

A stream processor's evidence names the records it consumed by their Kafka coordinates; the RCA walks from it
to the enforcer's evidence of the same record with this index. Rows stored before this revision are filled in
from their documents, in batches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

# No `from __future__ import annotations`: alembic loads this file outside sys.modules, where msgspec could
# not resolve string annotations of the structs below.

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BATCH = 5000


class _Source(msgspec.Struct):
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


class _Doc(msgspec.Struct):
    source: _Source | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("source_topic", sa.String(), nullable=True))
        batch.add_column(sa.Column("source_partition", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_offset", sa.BigInteger(), nullable=True))
    op.create_index("ix_evidence_source_topic_source_partition_source_offset", "evidence",
                    ["source_topic", "source_partition", "source_offset"])
    _backfill()


def _backfill() -> None:
    """Coordinates of the evidence already stored, read from each document (any dialect: no JSON SQL)."""
    conn = op.get_bind()
    table = sa.table("evidence", sa.column("evidence_id", sa.String()), sa.column("doc", sa.Text()),
                     sa.column("source_topic", sa.String()), sa.column("source_partition", sa.Integer()),
                     sa.column("source_offset", sa.BigInteger()))
    decoder = msgspec.json.Decoder(_Doc)
    update = (sa.update(table).where(table.c.evidence_id == sa.bindparam("eid"))
              .values(source_topic=sa.bindparam("t"), source_partition=sa.bindparam("p"),
                      source_offset=sa.bindparam("o")))
    last = ""
    while True:
        rows = conn.execute(sa.select(table.c.evidence_id, table.c.doc).where(table.c.evidence_id > last)
                            .order_by(table.c.evidence_id).limit(_BATCH)).all()
        if not rows:
            return
        params = []
        for eid, doc in rows:
            try:
                src = decoder.decode(doc).source
            except msgspec.DecodeError:
                continue
            if src is not None and src.offset is not None:
                params.append({"eid": eid, "t": src.topic, "p": src.partition, "o": src.offset})
        if params:
            conn.execute(update, params)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_evidence_source_topic_source_partition_source_offset", table_name="evidence")
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("source_offset")
        batch.drop_column("source_partition")
        batch.drop_column("source_topic")
