"""Department services: the tree, rooted at department 1."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from openroster.core import limits, validate
from openroster.core.directory import Directory, Reader
from openroster.core.errors import Conflict, InvalidValue, NotFound, RuleViolation
from openroster.core.model import Department
from openroster.store import depts as dept_rows
from openroster.store import tenants as tenant_rows
from openroster.store.base import WriteTx


@dataclass(frozen=True, slots=True)
class NewDepartment:
    name: str
    parent_id: int
    order: int | None = None
    ex_dept_id: str | None = None
    #: An explicit id (seeds, imports); allocated when absent.
    id: int | None = None


def clean_name(name: str | None, *, field: str = "name") -> str:
    value = validate.text(name, field=field, max_len=limits.NAME_MAX, required=True)
    assert value is not None
    if "/" in value:
        raise InvalidValue(f"{field} may not contain '/' (it separates the levels of abs_path)", field=field)
    return value


def create(d: Directory, *, tenant_id: str, item: NewDepartment) -> Department:
    with d.writer() as tx:
        return create_in(tx, d, tenant_id=tenant_id, item=item)


def create_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, item: NewDepartment, field: str = ""
) -> Department:
    """Create one department inside an open write transaction."""
    prefix = f"{field}." if field else ""
    name = clean_name(item.name, field=f"{prefix}name")
    ex_id = validate.text(item.ex_dept_id, field=f"{prefix}ex_dept_id", max_len=128)
    parent = dept_rows.get_depts(tx.conn, tenant_id, [item.parent_id]).get(item.parent_id)
    if parent is None:
        raise NotFound(
            f"{prefix}parent_id: department {item.parent_id} does not exist", field=f"{prefix}parent_id"
        )
    if parent.abs_path.count("/") >= limits.DEPT_DEPTH_MAX:
        raise RuleViolation(
            f"{prefix}parent_id: the tree may be at most {limits.DEPT_DEPTH_MAX} levels deep",
            field=f"{prefix}parent_id",
        )
    if dept_rows.find_child_by_name(tx.conn, tenant_id, parent.id, name) is not None:
        raise Conflict(
            f"{prefix}name: department {parent.id} already has a child named {name!r}", field=f"{prefix}name"
        )
    if ex_id is not None and dept_rows.find_by_ex_ids(tx.conn, tenant_id, [ex_id]):
        raise Conflict(
            f"{prefix}ex_dept_id: {ex_id!r} is already used by another department",
            field=f"{prefix}ex_dept_id",
        )
    order = (
        item.order if item.order is not None else dept_rows.max_child_order(tx.conn, tenant_id, parent.id) + 1
    )
    if item.id is not None:
        new_id = item.id
        if dept_rows.get_depts(tx.conn, tenant_id, [new_id]):
            raise Conflict(f"{prefix}id: department {new_id} already exists", field=f"{prefix}id")
        tenant_rows.reserve_dept_id(tx.conn, tenant_id, new_id)
    else:
        new_id = tenant_rows.allocate_dept_ids(tx.conn, tenant_id)
    dept = Department(
        tenant_id=tenant_id,
        id=new_id,
        parent_id=parent.id,
        name=name,
        order=order,
        ex_dept_id=ex_id,
        abs_path=f"{parent.abs_path}/{name}",
        ctime=d.clock.now_int(),
    )
    dept_rows.insert_depts(tx.conn, [dept])
    tx.changed(tenant_id, "dept", new_id)
    return dept


def ensure_path(tx: WriteTx, d: Directory, *, tenant_id: str, names: Sequence[str]) -> Department:
    """The department at ``root/names[0]/names[1]/...``, creating missing levels."""
    current = dept_rows.get_depts(tx.conn, tenant_id, [1])[1]
    for name in names:
        child = dept_rows.find_child_by_name(tx.conn, tenant_id, current.id, name)
        if child is None:
            child = create_in(tx, d, tenant_id=tenant_id, item=NewDepartment(name=name, parent_id=current.id))
        current = child
    return current


def get_many(r: Reader, *, tenant_id: str, dept_ids: Sequence[int]) -> dict[int, Department]:
    return r.depts(tenant_id, list(dept_ids))


def list_all(d: Directory, *, tenant_id: str) -> list[Department]:
    with d.reader() as r:
        return dept_rows.list_all(r.conn, tenant_id)
