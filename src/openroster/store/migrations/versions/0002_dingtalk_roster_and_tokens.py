"""DingTalk roster values and access tokens"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openroster.store import migration_ddl as ddl

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "roster_values",
        ddl.tenant_id(),
        ddl.user_id(),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("row_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("field_code", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        ddl.person_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "group_id", "row_index", "field_code"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "dingtalk_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        ddl.tenant_id(),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        ddl.ctime(),
        sa.ForeignKeyConstraint(["client_id"], ["apps.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_dingtalk_tokens_app", "dingtalk_tokens", ["client_id", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("dingtalk_tokens")
    op.drop_table("roster_values")
