"""Pickers: the choices a field that holds a user ID or department IDs offers as its value is typed
(the person's leader and departments, the person and department attributes, a department's parent).

``static/picker.js`` turns such a field (``data-pick``) into a WAI-ARIA combobox: what is typed
is sent here, and the options this returns (an HTML fragment, user data escaped) fill its
listbox; choosing one puts its ID into the field. Without script the field takes IDs as typed.

Each answer is at most :data:`PICK_SIZE` matches, each found through an index: people by
``core.people.search.search`` (a whole ID, email, phone or employee ID, or a name's start),
departments by ID and by ``core.people.search.departments`` (a name that holds the word), so a
picker answers as fast on a tenant of a million people as on a small one.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from openroster.console.pages import console_of, render, signed_in
from openroster.core.people import depts, search
from openroster.core.runtime.limits import NAME_MAX
from openroster.model.entities import Department, UserStatus

#: The most choices one answer holds.
PICK_SIZE = 10


def _typed(request: Request) -> str:
    return request.query_params.get("q", "").strip()[:NAME_MAX]


def people_choices(request: Request, tenant_id: str, text: str) -> list[tuple[str, str, str]]:
    """``(user id, name, detail)`` of the people ``text`` finds, at most :data:`PICK_SIZE`."""
    if not text:
        return []
    with console_of(request).directory.reader() as r:
        found = search.search(
            r, tenant_id=tenant_id, text=text, statuses=list(UserStatus), size=PICK_SIZE, after=None
        )
    return [(u.id, u.user_name, u.id) for u in found.items[:PICK_SIZE]]


def department_choices(request: Request, tenant_id: str, text: str) -> list[tuple[str, str, str]]:
    """``(department id, name, path)`` of the department whose ID is ``text`` and of those whose
    name holds it, at most :data:`PICK_SIZE`."""
    if not text:
        return []
    with console_of(request).directory.reader() as r:
        ids = [int(text)] if text.isascii() and text.isdigit() and len(text) <= 18 else []
        ids += search.departments(r, tenant_id=tenant_id, query=search.Query(text, size=PICK_SIZE)).ids
        found = depts.get_many(r, tenant_id=tenant_id, dept_ids=list(dict.fromkeys(ids)))
    kept: list[Department] = [found[i] for i in dict.fromkeys(ids) if i in found][:PICK_SIZE]
    return [(str(x.id), x.name, x.abs_path) for x in kept]


def routes(r: APIRouter) -> None:
    @r.get("/tenants/{tenant_id}/pick/people")
    async def pick_people(request: Request, tenant_id: str) -> Response:
        """The people a typed text finds, as the options of a picker's listbox."""
        signed_in(request)
        choices = people_choices(request, tenant_id, _typed(request))
        return HTMLResponse(render(request, "_choices.html", choices=choices, kind="people"))

    @r.get("/tenants/{tenant_id}/pick/departments")
    async def pick_departments(request: Request, tenant_id: str) -> Response:
        """The departments a typed ID or word finds, as the options of a picker's listbox."""
        signed_in(request)
        choices = department_choices(request, tenant_id, _typed(request))
        return HTMLResponse(render(request, "_choices.html", choices=choices, kind="departments"))
