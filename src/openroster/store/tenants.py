"""Queries on tenants and server-wide settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from openroster.model.entities import Tenant
from openroster.store.schema import (
    apps,
    attr_defs,
    attr_values,
    depts,
    dismission_reasons,
    dismissions,
    leave_log,
    memberships,
    roster_field_options,
    server_settings,
    tenants,
    users,
)
from openroster.store.sql import column_values, from_columns

#: Every per-tenant table, in an order that deletes children before parents.
TENANT_TABLES = (
    roster_field_options,
    leave_log,
    dismission_reasons,
    dismissions,
    attr_values,
    memberships,
    attr_defs,
    users,
    depts,
    apps,
)


def _tenant(row: Any) -> Tenant:
    return from_columns(Tenant, row._mapping)


def insert_tenant(conn: Connection, tenant: Tenant, *, next_dept_id: int, seed: str | None) -> None:
    conn.execute(insert(tenants).values(**column_values(tenant), next_dept_id=next_dept_id, seed=seed))


#: Built once: it is run on every request that names a tenant and every pass of the event engine
#: (a statement built per call cost several times its run).
_GET_TENANT = select(tenants).where(tenants.c.id == bindparam("tenant_id"))


def get_tenant(conn: Connection, tenant_id: str) -> Tenant | None:
    row = conn.execute(_GET_TENANT, {"tenant_id": tenant_id}).first()
    return _tenant(row) if row is not None else None


def list_tenants(conn: Connection) -> list[Tenant]:
    return [_tenant(r) for r in conn.execute(select(tenants).order_by(tenants.c.id)).all()]


def find_tenant_by(
    conn: Connection, *, wps_company_id: str | None = None, dingtalk_corp_id: str | None = None
) -> Tenant | None:
    q = select(tenants)
    if wps_company_id is not None:
        q = q.where(tenants.c.wps_company_id == wps_company_id)
    if dingtalk_corp_id is not None:
        q = q.where(tenants.c.dingtalk_corp_id == dingtalk_corp_id)
    row = conn.execute(q).first()
    return _tenant(row) if row is not None else None


def delete_tenant(conn: Connection, tenant_id: str) -> bool:
    """Delete a tenant and every row that belongs to it, children before parents."""
    for table in TENANT_TABLES:
        conn.execute(delete(table).where(table.c.tenant_id == tenant_id))
    return bool(conn.execute(delete(tenants).where(tenants.c.id == tenant_id)).rowcount)


def allocate_dept_ids(conn: Connection, tenant_id: str, count: int = 1) -> int:
    """Reserve ``count`` department ids; returns the first. Locks the tenant row until commit."""
    first = conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(next_dept_id=tenants.c.next_dept_id + count)
        .returning(tenants.c.next_dept_id)
    ).scalar_one()
    return int(first) - count


def reserve_dept_id(conn: Connection, tenant_id: str, dept_id: int) -> None:
    """Make sure ids allocated later never reuse ``dept_id``."""
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id, tenants.c.next_dept_id <= dept_id)
        .values(next_dept_id=dept_id + 1)
    )


def get_setting(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(server_settings.c.value).where(server_settings.c.key == key)).scalar()
    return None if value is None else str(value)


def put_setting_if_absent(conn: Connection, key: str, value: str) -> str:
    existing = get_setting(conn, key)
    if existing is not None:
        return existing
    conn.execute(insert(server_settings).values(key=key, value=value))
    return value
