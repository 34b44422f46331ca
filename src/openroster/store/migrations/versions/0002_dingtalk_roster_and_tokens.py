"""DingTalk roster values and access tokens

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_values",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("row_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("field_code", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "group_id", "row_index", "field_code"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "dingtalk_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["apps.client_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("dingtalk_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_dingtalk_tokens_app", ["client_id", "expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dingtalk_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_dingtalk_tokens_app")
    op.drop_table("dingtalk_tokens")
    op.drop_table("roster_values")
