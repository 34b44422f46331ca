"""The open deliveries' entity keys (``delivery_keys``), so the look for due deliveries keeps the
order per entity in SQL; filled for the deliveries open at the upgrade

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: Rows inserted per statement while filling the table.
_CHUNK = 1000


def upgrade() -> None:
    op.create_table(
        "delivery_keys",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("entity_key", sa.String(length=160), nullable=False),
        sa.Column(
            "delivery_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("subscription_id", "entity_key", "delivery_id"),
    )
    with op.batch_alter_table("delivery_keys", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_keys_delivery", ["delivery_id"], unique=False)

    # The deliveries still open (pending or retrying) keep their order from the start.
    conn = op.get_bind()
    keys = sa.table(
        "delivery_keys",
        sa.column("subscription_id", sa.String),
        sa.column("entity_key", sa.String),
        sa.column("delivery_id", sa.BigInteger),
    )
    open_rows = conn.execute(
        sa.text(
            "SELECT id, subscription_id, entity_keys FROM deliveries"
            " WHERE status IN ('pending', 'retrying') ORDER BY id"
        )
    )
    rows = [
        {"subscription_id": sub, "entity_key": key, "delivery_id": i}
        for i, sub, entity_keys in open_rows
        for key in dict.fromkeys(json.loads(entity_keys))
    ]
    for at in range(0, len(rows), _CHUNK):
        conn.execute(sa.insert(keys), rows[at : at + _CHUNK])


def downgrade() -> None:
    with op.batch_alter_table("delivery_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_keys_delivery")
    op.drop_table("delivery_keys")
