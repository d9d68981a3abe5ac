"""staff console: sign-in links, the supervisor role, indexes for the region's quarter

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sign_in_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sign_in_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sign_in_links_staff_id"), ["staff_id"], unique=False)

    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(length=12), server_default="staff", nullable=False))

    # The console's overview and lists read one region (or a prefecture's regions) at a time;
    # on PostgreSQL the overview's counts read these two indexes alone (index-only scans).
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_verification_records_residence_covering",
            ["residence_region", "occurred_at"],
            postgresql_include=["event", "method", "retiree_hash", "detail"],
        )
    with op.batch_alter_table("retirees", schema=None) as batch_op:
        batch_op.create_index(
            "ix_retirees_residence_covering",
            ["residence_region", "due_on"],
            postgresql_include=["payment_state", "id_number_hash"],
        )
        # The console's name search: the region's names read from the index alone.
        batch_op.create_index("ix_retirees_residence_name", ["residence_region", "name", "id"])


def downgrade() -> None:
    with op.batch_alter_table("retirees", schema=None) as batch_op:
        batch_op.drop_index("ix_retirees_residence_name")
        batch_op.drop_index("ix_retirees_residence_covering")
    with op.batch_alter_table("verification_records", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_records_residence_covering")
    with op.batch_alter_table("staff_members", schema=None) as batch_op:
        batch_op.drop_column("role")
    with op.batch_alter_table("console_sign_in_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sign_in_links_staff_id"))
    op.drop_table("console_sign_in_links")
