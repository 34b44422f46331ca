"""An index on people's names, for the console's search by the start of a name"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index("ix_users_name", "users", ["tenant_id", "user_name", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_users_name", table_name="users")
