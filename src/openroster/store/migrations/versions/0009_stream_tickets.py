"""DingTalk Stream mode: connection tickets, and the connections they opened"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "stream_tickets",
        sa.Column("ticket", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=128), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("connection_id", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("alive_until", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("ticket"),
    )
    op.create_index("ix_stream_tickets_app", "stream_tickets", ["tenant", "app"], unique=False)


def downgrade() -> None:
    op.drop_table("stream_tickets")
