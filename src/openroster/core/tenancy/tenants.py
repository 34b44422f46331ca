"""Tenant services: a tenant is one company with its own directory."""

from __future__ import annotations

import re
from typing import Any

from openroster.core import validate
from openroster.core.directory import Directory
from openroster.model.entities import ROOT_DEPT_ID, Department, Tenant
from openroster.model.errors import Conflict, Entity, InvalidValue, NotFound
from openroster.store import depts as dept_rows
from openroster.store import tenants as tenant_rows
from openroster.store.base import WriteTx

_TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def create(d: Directory, *, seed: str | None = None, **fields: Any) -> Tenant:
    """Create a tenant with its root department (id 1, named after the company)."""
    tenant = build(d, **fields)
    with d.writer() as tx:
        return create_in(tx, tenant, seed=seed)


def build(
    d: Directory,
    *,
    tenant_id: str,
    name: str,
    wps_company_id: str | None = None,
    dingtalk_corp_id: str | None = None,
) -> Tenant:
    """A checked, not yet stored tenant."""
    if not _TENANT_ID.match(tenant_id):
        raise InvalidValue(
            f"tenant id {tenant_id!r} must be 1-64 letters, digits, '_', '.' or '-'", field="id"
        )
    clean_name = validate.text(name, field="name", max_len=200, required=True)
    assert clean_name is not None
    tenant = Tenant(
        id=tenant_id,
        name=clean_name,
        wps_company_id=wps_company_id or tenant_id,
        dingtalk_corp_id=dingtalk_corp_id or f"ding{tenant_id}",
        ctime=d.clock.now_int(),
    )
    return tenant


def create_in(tx: WriteTx, tenant: Tenant, *, seed: str | None = None) -> Tenant:
    """Create ``tenant`` and its root department inside an open write transaction."""
    tenant_id = tenant.id
    if tenant_rows.get_tenant(tx.conn, tenant_id) is not None:
        raise Conflict(f"tenant {tenant_id!r} already exists", field="id", entity=Entity.TENANT)
    for col, val in (
        ("wps_company_id", tenant.wps_company_id),
        ("dingtalk_corp_id", tenant.dingtalk_corp_id),
    ):
        if tenant_rows.find_tenant_by(tx.conn, **{col: val}) is not None:
            raise Conflict(
                f"{col} {val!r} is already used by another tenant", field=col, entity=Entity.TENANT
            )
    tenant_rows.insert_tenant(tx.conn, tenant, next_dept_id=ROOT_DEPT_ID + 1, seed=seed)
    root = Department(
        tenant_id=tenant_id,
        id=ROOT_DEPT_ID,
        parent_id=None,
        name=tenant.name,
        order=0,
        ex_dept_id=None,
        abs_path=f"/{tenant.name}",
        ctime=tenant.ctime,
    )
    dept_rows.insert_depts(tx.conn, [root])
    tx.changed(tenant_id, "tenant", tenant_id)
    return tenant


def delete(d: Directory, tenant_id: str) -> None:
    """Delete a tenant and everything in it."""
    with d.writer() as tx:
        if not tenant_rows.delete_tenant(tx.conn, tenant_id):
            raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
        tx.changed(tenant_id, "tenant", tenant_id)


def get(d: Directory, tenant_id: str) -> Tenant:
    with d.reader() as r:
        tenant = tenant_rows.get_tenant(r.conn, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
    return tenant


def find(d: Directory, tenant_id: str) -> Tenant | None:
    with d.reader() as r:
        return tenant_rows.get_tenant(r.conn, tenant_id)


def list_all(d: Directory) -> list[Tenant]:
    with d.reader() as r:
        return tenant_rows.list_tenants(r.conn)
