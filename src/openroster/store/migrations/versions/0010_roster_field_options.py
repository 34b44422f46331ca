"""Roster field options: the options of the roster's select fields a tenant changed"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openroster.store import migration_ddl as ddl

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "roster_field_options",
        ddl.tenant_id(),
        sa.Column("field_code", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "field_code", "value"),
    )


def downgrade() -> None:
    op.drop_table("roster_field_options")
