"""Change records: the new values that decide which event a change raises (``after``)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("change_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("after", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change_records", schema=None) as batch_op:
        batch_op.drop_column("after")
