"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 07:11:39.991422
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "change_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index("ix_change_log_seq", ["seq"], unique=False)

    op.create_table(
        "server_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("wps_company_id", sa.String(length=64), nullable=True),
        sa.Column("dingtalk_corp_id", sa.String(length=64), nullable=True),
        sa.Column("next_dept_id", sa.BigInteger(), nullable=False),
        sa.Column("seed", sa.Text(), nullable=True),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dingtalk_corp_id"),
        sa.UniqueConstraint("wps_company_id"),
    )
    op.create_table(
        "apps",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("signing", sa.String(length=16), nullable=False),
        sa.Column("agentid", sa.BigInteger(), nullable=True),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id"),
    )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.create_index("ix_apps_tenant", ["tenant_id"], unique=False)

    op.create_table(
        "attr_defs",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value_type", sa.String(length=32), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("attr_defs", schema=None) as batch_op:
        batch_op.create_index("ux_attr_defs_name", ["tenant_id", "name"], unique=True)

    op.create_table(
        "depts",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.Column("ex_dept_id", sa.String(length=128), nullable=True),
        sa.Column("abs_path", sa.Text(), nullable=False),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("depts", schema=None) as batch_op:
        batch_op.create_index("ix_depts_parent", ["tenant_id", "parent_id", "sort_order", "id"], unique=False)
        batch_op.create_index("ux_depts_ex", ["tenant_id", "ex_dept_id"], unique=True)

    op.create_table(
        "users",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("gender", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=64), nullable=True),
        sa.Column("employer", sa.String(length=200), nullable=True),
        sa.Column("employment_status", sa.String(length=32), nullable=True),
        sa.Column("employment_type", sa.String(length=32), nullable=True),
        sa.Column("ex_user_id", sa.String(length=128), nullable=True),
        sa.Column("leader_id", sa.String(length=64), nullable=True),
        sa.Column("login_name", sa.String(length=128), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("telephone", sa.String(length=32), nullable=True),
        sa.Column("work_place", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("avatar", sa.String(length=1024), nullable=True),
        sa.Column("def_dept_id", sa.BigInteger(), nullable=True),
        sa.Column("ctime", sa.BigInteger(), nullable=False),
        sa.Column("mtime", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_status", ["tenant_id", "status", "id"], unique=False)
        batch_op.create_index("ux_users_email", ["tenant_id", "email"], unique=True)
        batch_op.create_index("ux_users_employee_id", ["tenant_id", "employee_id"], unique=True)
        batch_op.create_index("ux_users_ex_user_id", ["tenant_id", "ex_user_id"], unique=True)
        batch_op.create_index("ux_users_login_name", ["tenant_id", "login_name"], unique=True)
        batch_op.create_index("ux_users_phone", ["tenant_id", "phone"], unique=True)

    op.create_table(
        "attr_values",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("attr_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "attr_id"], ["attr_defs.tenant_id", "attr_defs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "attr_id"),
    )
    with op.batch_alter_table("attr_values", schema=None) as batch_op:
        batch_op.create_index("ix_attr_values_attr", ["tenant_id", "attr_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("dept_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("is_leader", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dept_id"],
            ["depts.tenant_id", "depts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "dept_id"),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index("ix_memberships_dept", ["tenant_id", "dept_id", "user_id"], unique=False)
    counter = sa.table("change_counter", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger))
    op.bulk_insert(counter, [{"id": 1, "seq": 0}])


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_dept")

    op.drop_table("memberships")
    with op.batch_alter_table("attr_values", schema=None) as batch_op:
        batch_op.drop_index("ix_attr_values_attr")

    op.drop_table("attr_values")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ux_users_phone")
        batch_op.drop_index("ux_users_login_name")
        batch_op.drop_index("ux_users_ex_user_id")
        batch_op.drop_index("ux_users_employee_id")
        batch_op.drop_index("ux_users_email")
        batch_op.drop_index("ix_users_status")

    op.drop_table("users")
    with op.batch_alter_table("depts", schema=None) as batch_op:
        batch_op.drop_index("ux_depts_ex")
        batch_op.drop_index("ix_depts_parent")

    op.drop_table("depts")
    with op.batch_alter_table("attr_defs", schema=None) as batch_op:
        batch_op.drop_index("ux_attr_defs_name")

    op.drop_table("attr_defs")
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_index("ix_apps_tenant")

    op.drop_table("apps")
    op.drop_table("tenants")
    op.drop_table("server_settings")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_seq")

    op.drop_table("change_log")
    op.drop_table("change_counter")
