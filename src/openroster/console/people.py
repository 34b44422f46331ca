"""The People and Person pages: search and list a tenant's people, view and edit one, create, disable and
enable, delete.

Every read and write goes through the core services the APIs use (``core.people``): the same
rules, the same errors, the same change events. A refused save shows the core's message on the
field it names and changes nothing (the service checks everything before it writes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import attributes, pages, roster
from openroster.console.session import Session
from openroster.core.custom.attributes import update_values
from openroster.core.directory import Directory, Reader
from openroster.core.people import batch_writes, search, users
from openroster.core.people import depts as dept_service
from openroster.core.runtime.paging import Page, PageTokens, Position, expect
from openroster.core.tenancy import tenants as tenant_service
from openroster.model.dismissions import LeaveReason
from openroster.model.entities import ROOT_DEPT_ID, Department, Gender, Role, Tenant, User, UserStatus
from openroster.model.errors import CoreError, InvalidValue, NotFound

#: People per page.
PAGE_SIZE = 50
#: Departments the People page's filter offers: the top two levels of the
#: tree, at most this many (a department deeper down is chosen from the Departments page, whose
#: "people" link sets the filter; reading every department would cost 100 ms on a large tenant).
DEPT_CHOICES_MAX = 200
_PAGE_TOKENS = "console-page-token"


@dataclass(frozen=True, slots=True)
class Field:
    """A profile field of the person form: its user field name (also its label key) and input."""

    name: str
    kind: str = "text"
    #: For a select: its values; ``optional`` adds an empty choice (the field cleared).
    choices: tuple[str, ...] = ()
    optional: bool = True
    #: The label keys of the choices' prefix (``gender_`` -> ``gender_male``); none: the values shown.
    choice_labels: str = ""
    #: What a picker offers as the field is typed (``people``; none: the field takes what is typed).
    pick: str = ""


PROFILE_FIELDS: tuple[Field, ...] = (
    Field("user_name", optional=False),
    Field("title"),
    Field("email", "email"),
    Field("phone", "tel"),
    Field("employee_id"),
    Field("telephone", "tel"),
    Field("login_name"),
    Field("ex_user_id"),
    Field("employer"),
    Field("employment_type", "select", users.EMPLOYMENT_TYPES),
    Field("employment_status", "select", users.EMPLOYMENT_STATUSES),
    Field("gender", "select", tuple(g.value for g in Gender), optional=False, choice_labels="gender_"),
    Field("role", "select", tuple(r.value for r in Role), optional=False, choice_labels="role_"),
    Field("work_place"),
    Field("city"),
    Field("country"),
    Field("leader_id", pick="people"),
    Field("avatar", "url"),
)
_FIELD_NAMES = frozenset(f.name for f in PROFILE_FIELDS)
STATUSES: tuple[str, ...] = tuple(s.value for s in UserStatus)


def _form_values(u: User) -> dict[str, str]:
    """The person's profile as the form shows it (an absent value as an empty field)."""
    out: dict[str, str] = {}
    for f in PROFILE_FIELDS:
        value = getattr(u, f.name)
        out[f.name] = "" if value is None else str(getattr(value, "value", value))
    return out


def _dept_id_list(form: dict[str, str], name: str) -> tuple[int, ...]:
    """The department IDs typed into the form field ``name`` (separated by commas or spaces)."""
    typed = [x for x in form.get(name, "").replace("，", ",").replace(" ", ",").split(",") if x]
    if not all(x.isascii() and x.isdigit() and len(x) <= 18 for x in typed):
        raise InvalidValue(f"{name}: department ids are whole numbers, separated by commas", field=name)
    return tuple(int(x) for x in typed)


def _person(d: Directory, tenant_id: str, user_id: str) -> User:
    with d.reader() as reader:
        return users.get(reader, tenant_id=tenant_id, user_id=user_id)


def _tenant(d: Directory, tenant_id: str) -> Tenant:
    return tenant_service.get(d, tenant_id)


def _dept_choices(d: Directory, tenant_id: str, chosen: str = "") -> list[Department]:
    """The root, its children and theirs (keyset pages of ``ix_depts_parent``), and ``chosen``."""
    with d.reader() as r:
        root = dept_service.get(r, tenant_id=tenant_id, dept_id=ROOT_DEPT_ID)
        first = _children(r, tenant_id, root.id)
        out = [root, *first][:DEPT_CHOICES_MAX]
        for child in first:
            if len(out) >= DEPT_CHOICES_MAX:
                break
            out += _children(r, tenant_id, child.id)[: DEPT_CHOICES_MAX - len(out)]
        picked = int(chosen) if chosen.isdigit() and len(chosen) <= 18 else None
        if picked is not None and all(x.id != picked for x in out):
            out += dept_service.get_many(r, tenant_id=tenant_id, dept_ids=[picked]).values()
    return sorted(dict((x.id, x) for x in out).values(), key=lambda x: x.abs_path)


def _children(r: Reader, tenant_id: str, parent: int) -> list[Department]:
    return dept_service.children_page(
        r, tenant_id=tenant_id, dept_id=parent, recursive=False, size=DEPT_CHOICES_MAX, after=None
    ).items


def _people_page(
    r: Reader,
    tenant_id: str,
    q: str,
    dept_id: int | None,
    below: bool,
    statuses: Sequence[UserStatus],
    after: Position | None,
) -> tuple[list[User], Position | None]:
    """One page of the People list: a search, a department's members (``below``: with the departments
    below it), or everyone (the root's members with those below are everyone)."""
    if q:
        found = search.search(r, tenant_id=tenant_id, text=q, statuses=statuses, size=PAGE_SIZE, after=after)
        items = found.items
        if dept_id is not None:
            inside = dept_service.subtree_ids(r, tenant_id=tenant_id, dept_id=dept_id) if below else {dept_id}
            items = [u for u in items if inside.intersection(u.dept_ids)]
        return items, found.after
    if dept_id is not None and not (below and dept_id == ROOT_DEPT_ID):
        members = dept_service.members_page(
            r,
            tenant_id=tenant_id,
            dept_id=dept_id,
            recursive=below,
            statuses=statuses,
            size=PAGE_SIZE,
            after=after,
        )
        return [m.user for m in members.items], members.after
    start = expect(after, (str,), field="page")
    listed: Page[User] = users.list_page(
        r, tenant_id=tenant_id, statuses=statuses, size=PAGE_SIZE, after=start[0] if start else None
    )
    return listed.items, listed.after


def routes(r: APIRouter) -> None:
    @r.get("/tenants/{tenant_id}/people")
    async def people(request: Request, tenant_id: str) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        tenant = _tenant(d, tenant_id)
        params = request.query_params
        q = params.get("q", "").strip()
        dept = params.get("dept", "")
        status = params.get("status", "")
        dept_id = int(dept) if dept.isdigit() and len(dept) <= 18 else None
        below = "1" if params.get("below") == "1" and dept_id is not None else ""
        statuses = [UserStatus(status)] if status in STATUSES else list(UserStatus)
        tokens = PageTokens(d.master_key.derive(_PAGE_TOKENS))
        filters = {"q": q, "dept": dept, "below": below, "status": status}
        scope = ("console.people", tenant_id, q, dept, below, status)
        token = params.get("page", "")
        with d.reader() as reader:
            after = tokens.open(token, scope, field="page") if token else None
            items, more = _people_page(reader, tenant_id, q, dept_id, bool(below), statuses, after)
        next_url = (
            pages.url("tenants", tenant_id, "people", **filters, page=tokens.issue(scope, more))
            if more is not None
            else ""
        )
        return pages.page(
            request,
            "people.html",
            session=session,
            tenant=tenant,
            people=items,
            q=q,
            dept=dept,
            status_filter=status,
            statuses=STATUSES,
            departments=_dept_choices(d, tenant_id, dept),
            next_url=next_url,
            first_url=pages.url("tenants", tenant_id, "people", **filters) if token else "",
            below=below,
            done=params.get("done", ""),
        )

    @r.get("/tenants/{tenant_id}/people/{user_id}")
    async def person(request: Request, tenant_id: str, user_id: str) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        u = _person(d, tenant_id, user_id)
        done = request.query_params.get("done", "")
        return _person_page(request, session, d, tenant_id, u, _form_values(u), done=done)

    @r.post("/tenants/{tenant_id}/people/{user_id}")
    async def save(request: Request, tenant_id: str, user_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        current = _person(d, tenant_id, user_id)
        shown = _form_values(current)
        changes = {f: form[f] for f in _FIELD_NAMES if f in form and form[f] != shown[f]}
        try:
            if changes:
                users.update(d, tenant_id=tenant_id, user_id=user_id, changes=changes)
        except CoreError as exc:
            values = {**shown, **{f: form[f] for f in _FIELD_NAMES if f in form}}
            return _person_page(request, session, d, tenant_id, current, values, error=exc)
        return pages.see_other(pages.url("tenants", tenant_id, "people", user_id, done="saved"))

    @r.post("/tenants/{tenant_id}/people/{user_id}/attributes")
    async def save_attributes(request: Request, tenant_id: str, user_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        with d.reader() as reader:
            current = users.get(reader, tenant_id=tenant_id, user_id=user_id)
            fields = attributes.person_fields(reader, tenant_id, current)
        try:
            update_values(d, tenant_id=tenant_id, updates=[attributes.updates_from(form, fields, user_id)])
        except CoreError as exc:
            return _person_page(
                request, session, d, tenant_id, current, _form_values(current), error=exc, attr_form=form
            )
        return pages.see_other(pages.url("tenants", tenant_id, "people", user_id, done="saved"))

    @r.post("/tenants/{tenant_id}/people/{user_id}/departments")
    async def save_departments(request: Request, tenant_id: str, user_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        current = _person(d, tenant_id, user_id)
        try:
            ids = _dept_id_list(form, "dept_ids")
            main = pages.whole_number(form, "def_dept_id", "a department id")
            leads = _dept_id_list(form, "leader_of") if "leader_of" in form else None
            item = batch_writes.DeptAssignment(user_id, ids, def_dept_id=main, leader_of=leads)
            batch_writes.update_depts(d, tenant_id=tenant_id, items=[item])
        except CoreError as exc:
            return _person_page(
                request, session, d, tenant_id, current, _form_values(current), error=exc, dept_form=form
            )
        return pages.see_other(pages.url("tenants", tenant_id, "people", user_id, done="saved"))

    @r.post("/tenants/{tenant_id}/people/{user_id}/roster/{group_id}")
    async def save_roster(request: Request, tenant_id: str, user_id: str, group_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        current = _person(d, tenant_id, user_id)
        with d.reader() as reader:
            views = {v.id: v for v in roster.roster_view(reader, tenant_id, current)}
        if group_id not in views:
            raise NotFound(f"no roster group {group_id!r}", field="group_id")
        try:
            roster.save_group(d, tenant_id, user_id, views[group_id], form)
        except CoreError as exc:
            bad = roster.error_input(exc, views[group_id])
            return _person_page(
                request,
                session,
                d,
                tenant_id,
                current,
                _form_values(current),
                error=exc,
                roster_form=(group_id, bad, form),
            )
        return pages.see_other(pages.url("tenants", tenant_id, "people", user_id, done="saved"))

    @r.post("/tenants/{tenant_id}/people/{user_id}/status")
    async def set_status(request: Request, tenant_id: str, user_id: str) -> Response:
        _, form = await pages.posted(request)
        d = pages.console_of(request).directory
        wanted = UserStatus.DISABLED if form.get("status") == UserStatus.DISABLED else UserStatus.ACTIVE
        batch_writes.set_status(d, tenant_id=tenant_id, user_ids=[user_id], status=wanted, field="user_id")
        done = "disabled" if wanted is UserStatus.DISABLED else "enabled"
        return pages.see_other(pages.url("tenants", tenant_id, "people", user_id, done=done))

    @r.get("/tenants/{tenant_id}/people/{user_id}/delete")
    async def confirm_delete(request: Request, tenant_id: str, user_id: str) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        u = _person(d, tenant_id, user_id)
        return pages.page(request, "delete.html", session=session, tenant=_tenant(d, tenant_id), person=u)

    @r.post("/tenants/{tenant_id}/people/{user_id}/delete")
    async def delete(request: Request, tenant_id: str, user_id: str) -> Response:
        await pages.posted(request)
        users.delete(
            pages.console_of(request).directory,
            tenant_id=tenant_id,
            user_id=user_id,
            reason=LeaveReason.DELETE,
        )
        return pages.see_other(pages.url("tenants", tenant_id, "people", done="deleted"))

    @r.get("/tenants/{tenant_id}/new-person")
    async def new_person(request: Request, tenant_id: str) -> Response:
        session = pages.signed_in(request)
        d = pages.console_of(request).directory
        return _new_person_page(request, session, d, tenant_id, {"gender": "undefined", "role": "normal"})

    @r.post("/tenants/{tenant_id}/new-person")
    async def create(request: Request, tenant_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        dept = form.get("dept_id", "")
        fields: dict[str, Any] = {f: form.get(f, "").strip() or None for f in _FIELD_NAMES}
        fields["user_name"] = form.get("user_name", "")
        try:
            item = users.NewUser(dept_ids=(int(dept),) if dept.isdigit() else (), **fields)
            made = users.create(d, tenant_id=tenant_id, item=item)
        except CoreError as exc:
            return _new_person_page(request, session, d, tenant_id, form, error=exc)
        return pages.see_other(pages.url("tenants", tenant_id, "people", made.id, done="created"))


def _dept_error(error: CoreError | None) -> str:
    """Which departments field ``error`` is about: the main department, the led ones, else the list."""
    where = error.field or "" if error is not None else ""
    return next((name for name in ("def_dept_id", "leader_of") if name in where), "dept_ids")


def _error_field(error: CoreError | None, known: frozenset[str]) -> str:
    """The form field ``error`` is about, if the form has it ("" otherwise)."""
    name = pages.field_of(error)
    return name if name in known else ""


def _person_page(
    request: Request,
    session: Session,
    d: Directory,
    tenant_id: str,
    u: User,
    values: dict[str, str],
    *,
    done: str = "",
    error: CoreError | None = None,
    attr_form: dict[str, str] | None = None,
    dept_form: dict[str, str] | None = None,
    roster_form: tuple[str, str, dict[str, str]] | None = None,
) -> Response:
    with d.reader() as reader:
        names = dept_service.get_many(reader, tenant_id=tenant_id, dept_ids=list(u.dept_ids))
        attr_fields = attributes.person_fields(reader, tenant_id, u)
        roster_groups = roster.roster_view(reader, tenant_id, u)
    attr_values = {f.input_id: f.value for f in attr_fields} | {
        f"{f.input_id}-title": f.title for f in attr_fields
    }
    return pages.page(
        request,
        "person.html",
        session=session,
        tenant=_tenant(d, tenant_id),
        person=u,
        fields=PROFILE_FIELDS,
        values=values,
        memberships=[(m, names.get(m.dept_id)) for m in u.memberships],
        done=done,
        error=error,
        error_field=_error_field(error, _FIELD_NAMES)
        if (attr_form, dept_form, roster_form) == (None, None, None)
        else "",
        dept_values={
            "dept_ids": ", ".join(str(x) for x in u.dept_ids),
            "def_dept_id": str(u.def_dept_id or ""),
            "leader_of": ", ".join(str(m.dept_id) for m in u.memberships if m.is_leader),
            **(dept_form or {}),
        },
        dept_error=_dept_error(error) if dept_form is not None else "",
        attr_fields=attr_fields,
        roster_groups=roster_groups,
        roster_form=roster_form or ("", "", {}),
        attr_values=attr_values | (attr_form or {}),
        attr_error=attributes.error_input(error, attr_fields) if attr_form is not None else "",
    )


def _new_person_page(
    request: Request,
    session: Session,
    d: Directory,
    tenant_id: str,
    values: dict[str, str],
    *,
    error: CoreError | None = None,
) -> Response:
    tenant = _tenant(d, tenant_id)
    return pages.page(
        request,
        "new_person.html",
        session=session,
        tenant=tenant,
        fields=PROFILE_FIELDS,
        values={f.name: values.get(f.name, "") for f in PROFILE_FIELDS},
        dept_id=values.get("dept_id", str(ROOT_DEPT_ID)),
        error=error,
        error_field=_error_field(error, _FIELD_NAMES | {"dept_ids"}),
    )
