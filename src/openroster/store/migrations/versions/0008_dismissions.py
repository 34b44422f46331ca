"""Dismissions: the dismission records, the reason catalogue and the leave log"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openroster.store import migration_ddl as ddl

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "dismissions",
        ddl.tenant_id(),
        ddl.user_id(),
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
        ddl.ctime(),
        ddl.mtime(),
        ddl.person_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "user_id"),
    )
    op.create_index("ix_dismissions_state", "dismissions", ["tenant_id", "state", "mtime"], unique=False)
    op.create_table(
        "dismission_reasons",
        ddl.tenant_id(),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "leave_log",
        ddl.tenant_id(),
        sa.Column("time", sa.BigInteger(), autoincrement=False, nullable=False),
        ddl.user_id(),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mobile", sa.String(length=64), nullable=True),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "time", "user_id", "reason"),
    )


def downgrade() -> None:
    op.drop_table("leave_log")
    op.drop_table("dismission_reasons")
    op.drop_table("dismissions")
