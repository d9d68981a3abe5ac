"""pass audits: self-service passes put before staff after the fact

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pass_audits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("retiree_id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("certification_id", sa.Integer(), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["retiree_id"], ["retirees.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["attempt_id"], ["certification_attempts.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["certification_id"], ["certifications.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["staff_members.id"]),
        sa.ForeignKeyConstraint(["review_case_id"], ["review_cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("attempt_id"),
    )
    with op.batch_alter_table("pass_audits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pass_audits_retiree_id"), ["retiree_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pass_audits_region"), ["region"], unique=False)
        batch_op.create_index(batch_op.f("ix_pass_audits_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pass_audits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_audits_state"))
        batch_op.drop_index(batch_op.f("ix_pass_audits_region"))
        batch_op.drop_index(batch_op.f("ix_pass_audits_retiree_id"))
    op.drop_table("pass_audits")
