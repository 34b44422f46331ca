"""Dismissions: the dismission records, the reason catalogue and the leave log

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dismissions",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("last_work_day", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("voluntary", sa.Text(), nullable=False),
        sa.Column("passive", sa.Text(), nullable=False),
        sa.Column("pre_status", sa.String(length=64), nullable=True),
        sa.Column("handover_user_id", sa.String(length=64), nullable=True),
        sa.Column("depts", sa.Text(), nullable=False),
        sa.Column("main_dept_id", sa.BigInteger(), nullable=True),
        sa.Column("main_dept_name", sa.String(length=200), nullable=True),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id"),
    )
    with op.batch_alter_table("dismissions", schema=None) as batch_op:
        batch_op.create_index("ix_dismissions_state", ["tenant_id", "state", "mtime"], unique=False)
    op.create_table(
        "dismission_reasons",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "leave_log",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "time", "user_id", "reason"),
    )


def downgrade() -> None:
    op.drop_table("leave_log")
    op.drop_table("dismission_reasons")
    with op.batch_alter_table("dismissions", schema=None) as batch_op:
        batch_op.drop_index("ix_dismissions_state")
    op.drop_table("dismissions")
