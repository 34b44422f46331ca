"""Subscriptions: the changes a subscription missed (pruned past the retention before it fanned
them out: a paused subscription's, ``serve --events-retention``)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("missed", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("missed_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("missed_until")
        batch_op.drop_column("missed")
