"""WPS v7 department endpoints beyond create: the tree, lookups, update, delete and members."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from openroster.core import validate
from openroster.core.people import depts as dept_service
from openroster.core.runtime import paging
from openroster.dialects.wps import params, render
from openroster.dialects.wps.contacts import CONTACT_READ, CONTACT_WRITE
from openroster.dialects.wps.endpoint import Call, route
from openroster.dialects.wps.schemas import (
    DeptIdsBody,
    ExDeptIdsBody,
    MembersBatchReadBody,
    UpdateDeptBody,
)
from openroster.model.entities import ROOT_DEPT_ID, Department


def _items(call: Call, depts: Sequence[Department]) -> list[dict[str, object]]:
    leaders = dept_service.leaders(call.reader, tenant_id=call.tenant_id, dept_ids=[d.id for d in depts])
    return render.depts_items(depts, leaders)


def _one(call: Call, dept: Department) -> dict[str, object]:
    return _items(call, [dept])[0]


# The root is registered before /depts/{dept_id} so that "root" is not read as an id.
@route("GET", "/depts/root", scopes=CONTACT_READ)
def root_dept(call: Call, _body: None) -> dict[str, object]:
    """The root department (the company). Throttled to 10 calls per second per app by default."""
    return _one(call, dept_service.get(call.reader, tenant_id=call.tenant_id, dept_id=ROOT_DEPT_ID))


@route("POST", "/depts/batch_read", scopes=CONTACT_READ, body=DeptIdsBody)
def batch_read_depts(call: Call, body: DeptIdsBody) -> dict[str, object]:
    """Read up to 100 departments by id; unknown ids are left out."""
    ids = [validate.dept_id(x, field=f"dept_ids[{i}]") for i, x in enumerate(body.dept_ids)]
    found = dept_service.batch_read(call.reader, tenant_id=call.tenant_id, dept_ids=ids)
    return {"items": _items(call, found)}


@route("POST", "/depts/by_ex_dept_ids", scopes=CONTACT_READ, body=ExDeptIdsBody)
def depts_by_ex_ids(call: Call, body: ExDeptIdsBody) -> dict[str, object]:
    """Look up to 100 departments up by ex_dept_id; unknown ids are left out."""
    found = dept_service.by_ex_ids(call.reader, tenant_id=call.tenant_id, ex_dept_ids=body.ex_dept_ids)
    return {"items": _items(call, found)}


@route("GET", "/depts/{dept_id}", scopes=CONTACT_READ)
def get_dept(call: Call, _body: None) -> dict[str, object]:
    """Read one department."""
    return _one(
        call, dept_service.get(call.reader, tenant_id=call.tenant_id, dept_id=params.dept_path_id(call))
    )


@route(
    "GET",
    "/depts/{dept_id}/children",
    scopes=CONTACT_READ,
    query=("recursive", "page_size", "page_token", "with_total"),
)
def dept_children(call: Call, _body: None) -> bytes:
    """A department's children, page by page (recursive: every department below it)."""
    dept_id = params.dept_path_id(call)
    recursive = params.flag(call, "recursive")
    filters = [f"dept={dept_id}", f"recursive={recursive}"]
    after = params.page_after(call, "children", filters)
    page = dept_service.children_page(
        call.reader,
        tenant_id=call.tenant_id,
        dept_id=dept_id,
        recursive=recursive,
        size=params.page_size(call),
        after=after,
        with_total=params.flag(call, "with_total"),
    )
    return params.paged(call, "children", filters, page, orjson.dumps({"items": _items(call, page.items)}))


@route(
    "GET",
    "/depts/{dept_id}/members",
    scopes=CONTACT_READ,
    query=("recursive", "status", "page_size", "page_token", "with_total", "with_user_detail"),
)
def dept_members(call: Call, _body: None) -> bytes:
    """A department's members, page by page (recursive, status, with_user_detail)."""
    dept_id = params.dept_path_id(call)
    recursive = params.flag(call, "recursive")
    wanted = params.query_statuses(call)
    filters = [f"dept={dept_id}", f"recursive={recursive}", params.status_filter(wanted)]
    after = paging.expect(params.page_after(call, "members", filters), (str,))
    page = dept_service.members_page(
        call.reader,
        tenant_id=call.tenant_id,
        dept_id=dept_id,
        recursive=recursive,
        statuses=wanted,
        size=params.page_size(call),
        after=after,
        with_total=params.flag(call, "with_total"),
    )
    detail = params.flag(call, "with_user_detail")
    return params.paged(
        call,
        "members",
        filters,
        page,
        render.members_items(call.reader, page.items, call.app.scopes, with_user_detail=detail),
    )


@route("POST", "/depts/{dept_id}/members/batch_read", scopes=CONTACT_READ, body=MembersBatchReadBody)
def dept_members_batch_read(call: Call, body: MembersBatchReadBody) -> bytes:
    """Which of up to 100 users are members of the department, with their membership."""
    found = dept_service.members_batch_read(
        call.reader,
        tenant_id=call.tenant_id,
        dept_id=params.dept_path_id(call),
        user_ids=body.user_ids,
        statuses=params.statuses(body.status, required=True),
    )
    return render.members_items(call.reader, found, call.app.scopes, with_user_detail=body.with_user_detail)


@route("POST", "/depts/{dept_id}/update", scopes=CONTACT_WRITE, body=UpdateDeptBody, writes=True)
def update_dept(call: Call, body: UpdateDeptBody) -> None:
    """Rename, move or reorder a department, or change its ex_dept_id or leaders."""
    changes = dept_service.DeptChanges(
        name=body.name,
        parent_id=(
            validate.dept_id(body.parent_id, field="parent_id") if body.parent_id not in (None, "") else None
        ),
        order=body.order,
        ex_dept_id=body.ex_dept_id,
        leaders=(
            tuple(dept_service.Leader(user_id=x.user_id, order=x.order) for x in body.leaders)
            if body.leaders is not None
            else None
        ),
    )
    dept_service.update(
        call.directory, tenant_id=call.tenant_id, dept_id=params.dept_path_id(call), changes=changes
    )


@route("POST", "/depts/{dept_id}/delete", scopes=CONTACT_WRITE, writes=True)
def delete_dept(call: Call, _body: None) -> None:
    """Delete an empty department (no members and no children)."""
    dept_service.delete(call.directory, tenant_id=call.tenant_id, dept_id=params.dept_path_id(call))
