"""staff training: lessons read, days studied, exam sittings, certificates, the audit trail

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _staff(column: str = "staff_id", *, nullable: bool = False) -> "sa.Column[int]":
    return sa.Column(column, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "training_lessons_read",
        sa.Column("id", sa.Integer(), nullable=False),
        _staff(),
        sa.Column("lesson_id", sa.String(length=80), nullable=False),
        sa.Column("module_id", sa.String(length=40), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "lesson_id"),
    )
    op.create_index("ix_training_lessons_read_staff_id", "training_lessons_read", ["staff_id"])
    op.create_table(
        "training_days",
        sa.Column("id", sa.Integer(), nullable=False),
        _staff(),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("studied_on", sa.Date(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lessons", sa.Integer(), nullable=False),
        _staff("classroom_recorded_by", nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["classroom_recorded_by"], ["staff_members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("staff_id", "studied_on"),
    )
    op.create_index("ix_training_days_staff_id", "training_days", ["staff_id"])
    op.create_table(
        "exam_sittings",
        sa.Column("id", sa.Integer(), nullable=False),
        _staff(),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("right", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("bank_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_exam_sittings_staff_id", "exam_sittings", ["staff_id"])
    op.create_index("ix_exam_sittings_region_started", "exam_sittings", ["region_code", "started_at"])
    op.create_table(
        "training_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        _staff(),
        sa.Column("sitting_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _staff("revoked_by", nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sitting_id"], ["exam_sittings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["revoked_by"], ["staff_members.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("sitting_id"),
    )
    op.create_index("ix_training_certificates_staff_id", "training_certificates", ["staff_id"])
    op.create_table(
        "training_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        _staff(nullable=True),
        sa.Column("sitting_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sitting_id"], ["exam_sittings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_training_events_staff_id", "training_events", ["staff_id"])


def downgrade() -> None:
    for table in (
        "training_events",
        "training_certificates",
        "exam_sittings",
        "training_days",
        "training_lessons_read",
    ):
        op.drop_table(table)
