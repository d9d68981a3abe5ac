"""update inbox, key fingerprints, employer question source keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 20:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), server_default="pending", nullable=False),
        sa.Column("tries", sa.Integer(), server_default="0", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_update_inbox_state_received", "update_inbox", ["state", "received_at"])
    op.create_table(
        "key_fingerprints",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("employer_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_key", sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint("uq_employer_questions_source_key", ["source_key"])


def downgrade() -> None:
    with op.batch_alter_table("employer_questions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_employer_questions_source_key", type_="unique")
        batch_op.drop_column("source_key")
    op.drop_table("key_fingerprints")
    op.drop_index("ix_update_inbox_state_received", table_name="update_inbox")
    op.drop_table("update_inbox")
