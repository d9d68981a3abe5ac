"""signed chain checkpoints, peer chain heads, deferred exchange refusals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 03:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_checkpoints_region_seq", "record_checkpoints", ["region", "seq"])
    op.create_table(
        "peer_chain_heads",
        sa.Column("origin_region", sa.String(length=6), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.String(length=40), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conflict", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("origin_region"),
    )
    with op.batch_alter_table("record_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refused_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("record_outbox", schema=None) as batch_op:
        batch_op.drop_column("refused_since")
    op.drop_table("peer_chain_heads")
    op.drop_index("ix_record_checkpoints_region_seq", table_name="record_checkpoints")
    op.drop_table("record_checkpoints")
