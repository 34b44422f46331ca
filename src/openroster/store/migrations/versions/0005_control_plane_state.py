"""The control plane's shared state: fault rules and the request journal"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openroster.store import migration_ddl as ddl

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "fault_rules",
        ddl.serial_id(),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "journal_entries",
        ddl.serial_id(),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.LargeBinary(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reply_head", sa.LargeBinary(), nullable=False),
        sa.Column("latency", sa.Float(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("fault", sa.String(length=32), nullable=True),
        sa.Column("app", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("journal_entries")
    op.drop_table("fault_rules")
