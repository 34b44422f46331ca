"""The initial schema: tenants, their apps, departments, people, custom attributes and memberships,
and the change counter and log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from openroster.store import migration_ddl as ddl

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "change_log",
        ddl.serial_id(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        ddl.tenant_id(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_key", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_log_seq", "change_log", ["seq"], unique=False)

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
        ddl.ctime(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dingtalk_corp_id"),
        sa.UniqueConstraint("wps_company_id"),
    )
    op.create_table(
        "apps",
        sa.Column("client_id", sa.String(length=128), nullable=False),
        ddl.tenant_id(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("signing", sa.String(length=16), nullable=False),
        sa.Column("agentid", sa.BigInteger(), nullable=True),
        ddl.ctime(),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index("ix_apps_tenant", "apps", ["tenant_id"], unique=False)

    op.create_table(
        "attr_defs",
        ddl.tenant_id(),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value_type", sa.String(length=32), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        ddl.ctime(),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ux_attr_defs_name", "attr_defs", ["tenant_id", "name"], unique=True)

    op.create_table(
        "depts",
        ddl.tenant_id(),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.Column("ex_dept_id", sa.String(length=128), nullable=True),
        sa.Column("abs_path", sa.Text(), nullable=False),
        ddl.ctime(),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_depts_parent", "depts", ["tenant_id", "parent_id", "sort_order", "id"], unique=False)
    op.create_index("ux_depts_ex", "depts", ["tenant_id", "ex_dept_id"], unique=True)

    op.create_table(
        "users",
        ddl.tenant_id(),
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
        ddl.ctime(),
        ddl.mtime(),
        ddl.tenant_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_users_status", "users", ["tenant_id", "status", "id"], unique=False)
    op.create_index("ux_users_email", "users", ["tenant_id", "email"], unique=True)
    op.create_index("ux_users_employee_id", "users", ["tenant_id", "employee_id"], unique=True)
    op.create_index("ux_users_ex_user_id", "users", ["tenant_id", "ex_user_id"], unique=True)
    op.create_index("ux_users_login_name", "users", ["tenant_id", "login_name"], unique=True)
    op.create_index("ux_users_phone", "users", ["tenant_id", "phone"], unique=True)

    op.create_table(
        "attr_values",
        ddl.tenant_id(),
        ddl.user_id(),
        sa.Column("attr_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "attr_id"], ["attr_defs.tenant_id", "attr_defs.id"], ondelete="CASCADE"
        ),
        ddl.person_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "attr_id"),
    )
    op.create_index("ix_attr_values_attr", "attr_values", ["tenant_id", "attr_id"], unique=False)

    op.create_table(
        "memberships",
        ddl.tenant_id(),
        ddl.user_id(),
        sa.Column("dept_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("is_leader", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dept_id"],
            ["depts.tenant_id", "depts.id"],
        ),
        ddl.person_fk(),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "dept_id"),
    )
    op.create_index("ix_memberships_dept", "memberships", ["tenant_id", "dept_id", "user_id"], unique=False)
    counter = sa.table("change_counter", sa.column("id", sa.Integer), sa.column("seq", sa.BigInteger))
    op.bulk_insert(counter, [{"id": 1, "seq": 0}])


def downgrade() -> None:
    op.drop_table("memberships")
    op.drop_table("attr_values")
    op.drop_table("users")
    op.drop_table("depts")
    op.drop_table("attr_defs")
    op.drop_table("apps")
    op.drop_table("tenants")
    op.drop_table("server_settings")
    op.drop_table("change_log")
    op.drop_table("change_counter")
