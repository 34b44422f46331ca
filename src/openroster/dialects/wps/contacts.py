"""WPS v7 contacts endpoints: users and departments."""

from __future__ import annotations

from typing import Any

from openroster.core import validate
from openroster.core.people import depts as dept_service
from openroster.core.people import users
from openroster.core.runtime.cache import DeptView
from openroster.core.runtime.limits import BATCH_READ_USERS_MAX
from openroster.dialects.wps import params, render
from openroster.dialects.wps.endpoint import ENVELOPE, Call, Whole, route
from openroster.dialects.wps.schemas import BatchReadUsersBody, CreateDeptBody, CreateUserBody
from openroster.model.errors import InvalidValue, TooMany

CONTACT_READ = ("kso.contact.read", "kso.contact.readwrite")
CONTACT_WRITE = ("kso.contact.readwrite",)


def depts_for(call: Call, with_dept: bool) -> DeptView | None:
    """The tenant's departments, for users' ``depts[]``, or None without ``with_dept``.

    A lazy view of the cache: each department is looked up as a user is rendered.
    """
    if not with_dept:
        return None
    return call.reader.dept_view(call.tenant_id)


@route("POST", "/users/batch_read", scopes=CONTACT_READ, body=BatchReadUsersBody)
def batch_read_users(call: Call, body: BatchReadUsersBody) -> Whole:
    """Read up to 100 users by id."""
    if len(body.user_ids) > BATCH_READ_USERS_MAX:
        raise TooMany(
            f"user_ids has {len(body.user_ids)} ids; the limit is {BATCH_READ_USERS_MAX}",
            field="user_ids",
            limit=BATCH_READ_USERS_MAX,
        )
    wanted = params.statuses(body.status, required=True)
    replies = render.batch_read_replies(
        call.reader,
        tenant_id=call.tenant_id,
        user_ids=body.user_ids,
        statuses=wanted,
        scopes=call.app.scopes,
        depts=depts_for(call, body.with_dept),
    )
    return Whole(render.items_of(replies, wrap=ENVELOPE))


@route("POST", "/users/create", scopes=CONTACT_WRITE, body=CreateUserBody, writes=True)
def create_user(call: Call, body: CreateUserBody) -> bytes:
    """Create a user in one or more departments."""
    dept_ids = tuple(validate.dept_id(x, field=f"dept_ids[{i}]") for i, x in enumerate(body.dept_ids))
    def_dept = (
        validate.dept_id(body.def_dept_id, field="def_dept_id")
        if body.def_dept_id not in (None, "")
        else None
    )
    fields: dict[str, Any] = body.model_dump(exclude={"dept_ids", "def_dept_id"}, exclude_none=True)
    new = users.NewUser(dept_ids=dept_ids, def_dept_id=def_dept, **fields)
    user = users.create(call.directory, tenant_id=call.tenant_id, item=new)
    with call.directory.reader() as r:
        depts = r.depts(call.tenant_id, list(user.dept_ids))
    return render.user_bytes(user, call.app.scopes, depts)


@route("POST", "/depts/create", scopes=CONTACT_WRITE, body=CreateDeptBody, writes=True)
def create_dept(call: Call, body: CreateDeptBody) -> dict[str, object]:
    """Create a department under a parent."""
    if body.order is not None and body.order < 0:
        raise InvalidValue("order must be zero or positive", field="order")
    item = dept_service.NewDepartment(
        name=body.name,
        parent_id=validate.dept_id(body.parent_id, field="parent_id"),
        order=body.order,
        ex_dept_id=body.ex_dept_id,
    )
    leaders = tuple(dept_service.Leader(user_id=x.user_id, order=x.order) for x in body.leaders or ())
    dept = dept_service.create(call.directory, tenant_id=call.tenant_id, item=item, leaders=leaders)
    return render.dept_dict(dept, [(x.user_id, x.order) for x in leaders])
