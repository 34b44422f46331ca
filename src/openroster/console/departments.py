"""The Departments page: the tenant's tree (an ARIA tree, each level loaded when it is opened), and a
department's page to rename it, move it or create a department under it.

The tree comes one level at a time from ``core.people.tree`` (a keyset page of children with their
member and sub-department counts), so it opens as fast on a tenant of a million people as on a
small one. Writes go through ``core.people.depts`` like the APIs' department routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openroster.console import pages
from openroster.console.session import Session
from openroster.core.directory import Directory
from openroster.core.people import depts, tree
from openroster.core.runtime.paging import PageTokens
from openroster.core.tenancy import tenants as tenant_service
from openroster.model.entities import ROOT_DEPT_ID, Department, UserStatus
from openroster.model.errors import CoreError

#: Members a department's page lists (by user ID; the People page filtered by it lists them all).
MEMBERS_SHOWN = 50
#: Departments per level fetched at a time (a "more" item fetches the next ones).
LEVEL_SIZE = 100
_PAGE_TOKENS = "console-tree-token"


def _tokens(d: Directory) -> PageTokens:
    return PageTokens(d.master_key.derive(_PAGE_TOKENS))


def _level(request: Request, d: Directory, tenant_id: str, parent_id: int, level: int) -> dict[str, Any]:
    """What ``_level.html`` renders: one page of ``parent_id``'s children as tree items."""
    scope = ("console.tree", tenant_id, str(parent_id))
    token = request.query_params.get("page", "")
    with d.reader() as r:
        after = _tokens(d).open(token, scope, field="page") if token else None
        found = tree.branches(r, tenant_id=tenant_id, parent_id=parent_id, size=LEVEL_SIZE, after=after)
    more = (
        pages.url(
            "tenants",
            tenant_id,
            "departments",
            str(parent_id),
            "children",
            level=str(level),
            page=_tokens(d).issue(scope, found.after),
        )
        if found.after is not None
        else ""
    )
    return {"branches": found.items, "level": level, "more_url": more, "tenant_id": tenant_id}


def routes(r: APIRouter) -> None:
    @r.get("/tenants/{tenant_id}/departments")
    async def departments(request: Request, tenant_id: str) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        tenant = tenant_service.get(d, tenant_id)
        with d.reader() as reader:
            root = tree.branch(reader, tenant_id=tenant_id, dept_id=ROOT_DEPT_ID)
        first = _level(request, d, tenant_id, ROOT_DEPT_ID, 2)
        return pages.page(request, "departments.html", session=session, tenant=tenant, root=root, **first)

    @r.get("/tenants/{tenant_id}/departments/{dept_id}/children")
    async def children(request: Request, tenant_id: str, dept_id: int) -> Response:
        """The tree items of one level, as an HTML fragment the tree's script inserts."""
        pages.signed_in(request)
        d = pages.console_of(request).directory
        level = request.query_params.get("level", "2")
        values = _level(request, d, tenant_id, dept_id, int(level) if level.isdigit() else 2)
        return HTMLResponse(pages.render(request, "_level.html", **values))

    @r.get("/tenants/{tenant_id}/departments/{dept_id}")
    async def department(request: Request, tenant_id: str, dept_id: int) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        done = request.query_params.get("done", "")
        return _department_page(request, session, d, tenant_id, dept_id, done=done)

    @r.post("/tenants/{tenant_id}/departments/{dept_id}")
    async def change(request: Request, tenant_id: str, dept_id: int) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        try:
            changes = _changes(d, tenant_id, dept_id, form)
            depts.update(d, tenant_id=tenant_id, dept_id=dept_id, changes=changes)
        except CoreError as exc:
            return _department_page(request, session, d, tenant_id, dept_id, error=exc, form=form)
        return pages.see_other(pages.url("tenants", tenant_id, "departments", str(dept_id), done="saved"))

    @r.get("/tenants/{tenant_id}/departments/{dept_id}/delete")
    async def confirm_delete(request: Request, tenant_id: str, dept_id: int) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        tenant = tenant_service.get(d, tenant_id)
        with d.reader() as reader:
            branch = tree.branch(reader, tenant_id=tenant_id, dept_id=dept_id)
        return pages.page(request, "department_delete.html", session=session, tenant=tenant, branch=branch)

    @r.post("/tenants/{tenant_id}/departments/{dept_id}/delete")
    async def delete(request: Request, tenant_id: str, dept_id: int) -> Response:
        session, _ = await pages.posted(request)
        d = pages.console_of(request).directory
        with d.reader() as reader:
            parent = tree.branch(reader, tenant_id=tenant_id, dept_id=dept_id).dept.parent_id
        try:
            depts.delete(d, tenant_id=tenant_id, dept_id=dept_id)
        except CoreError as exc:
            return _department_page(request, session, d, tenant_id, dept_id, error=exc)
        return pages.see_other(
            pages.url("tenants", tenant_id, "departments", str(parent or ROOT_DEPT_ID), done="deleted")
        )

    @r.post("/tenants/{tenant_id}/departments/{dept_id}/new")
    async def create(request: Request, tenant_id: str, dept_id: int) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        try:
            made = depts.create(
                d,
                tenant_id=tenant_id,
                item=depts.NewDepartment(name=form.get("new_name", ""), parent_id=dept_id),
            )
        except CoreError as exc:
            return _department_page(
                request, session, d, tenant_id, dept_id, error=exc, form=form, creating=True
            )
        return pages.see_other(pages.url("tenants", tenant_id, "departments", str(made.id), done="created"))


def _shown(dept: Department, leaders: list[tuple[str, int]]) -> dict[str, str]:
    """The department's form as its page shows it: name, parent, order and leaders (in their order)."""
    return {
        "name": dept.name,
        "parent_id": str(dept.parent_id or ""),
        "order": str(dept.order),
        "leaders": ", ".join(uid for uid, _ in sorted(leaders, key=lambda x: (x[1], x[0]))),
    }


def _changes(d: Directory, tenant_id: str, dept_id: int, form: dict[str, str]) -> depts.DeptChanges:
    """What the posted form changes: the name and parent; the order and leaders when they differ from
    what the page showed (leaders in the order typed, each one's order its place)."""
    with d.reader() as r:
        dept = depts.get(r, tenant_id=tenant_id, dept_id=dept_id)
        shown = _shown(dept, depts.leaders(r, tenant_id=tenant_id, dept_ids=[dept_id]).get(dept_id, []))
    typed = [x for x in form.get("leaders", "").replace("，", ",").replace(" ", ",").split(",") if x]
    changed = {k for k in ("order", "leaders") if k in form and form[k].strip() != shown[k]}
    return depts.DeptChanges(
        name=form.get("name"),
        parent_id=pages.whole_number(form, "parent_id", "a department id"),
        order=pages.whole_number(form, "order", "a whole number") if "order" in changed else None,
        leaders=tuple(depts.Leader(uid, i) for i, uid in enumerate(typed)) if "leaders" in changed else None,
    )


def _department_page(
    request: Request,
    session: Session,
    d: Directory,
    tenant_id: str,
    dept_id: int,
    *,
    done: str = "",
    error: CoreError | None = None,
    form: dict[str, str] | None = None,
    creating: bool = False,
) -> Response:
    tenant = tenant_service.get(d, tenant_id)
    with d.reader() as reader:
        branch = tree.branch(reader, tenant_id=tenant_id, dept_id=dept_id)
        leaders = depts.leaders(reader, tenant_id=tenant_id, dept_ids=[dept_id]).get(dept_id, [])
        members = depts.members_page(
            reader,
            tenant_id=tenant_id,
            dept_id=dept_id,
            recursive=False,
            statuses=list(UserStatus),
            size=MEMBERS_SHOWN,
            after=None,
        )
    values = {**_shown(branch.dept, leaders), "new_name": "", **(form or {})}
    field = (
        "leaders"
        if error is not None and (error.field or "").startswith("leaders")
        else pages.field_of(error)
    )
    return pages.page(
        request,
        "department.html",
        session=session,
        tenant=tenant,
        branch=branch,
        values=values,
        members=[m.user for m in members.items],
        more_members=members.after is not None,
        leader_ids={uid for uid, _ in leaders},
        done=done,
        error=error,
        error_field=("new_name" if creating else field) if error is not None else "",
    )
