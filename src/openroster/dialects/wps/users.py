"""WPS v7 user endpoints beyond batch_read and create: get, list, look up, update, delete, batches."""

from __future__ import annotations

from openroster.core import validate
from openroster.core.people import batch_writes
from openroster.core.people import depts as dept_service
from openroster.core.people import users as user_service
from openroster.core.runtime import paging
from openroster.dialects.wps import params, render
from openroster.dialects.wps.contacts import CONTACT_READ, CONTACT_WRITE, depts_for
from openroster.dialects.wps.endpoint import Call, route
from openroster.dialects.wps.schemas import (
    BatchUpdateDeptBody,
    BatchUpdateOrderBody,
    ByEmailsBody,
    ByExUserIdsBody,
    ByPhonesBody,
    UpdateUserBody,
    UserIdsBody,
)
from openroster.model.dismissions import LeaveReason
from openroster.model.entities import UserStatus
from openroster.model.errors import InvalidValue, MissingField

_LIST = "users"


@route(
    "GET",
    "/users",
    scopes=CONTACT_READ,
    query=("status", "page_size", "page_token", "with_dept", "with_total"),
)
def list_users(call: Call, _body: None) -> bytes:
    """List the company's users, page by page (status, page_size, page_token, with_dept, with_total)."""
    wanted = params.query_statuses(call)
    filters = [params.status_filter(wanted)]
    after = paging.expect(params.page_after(call, _LIST, filters), (str,))
    page = user_service.list_page(
        call.reader,
        tenant_id=call.tenant_id,
        statuses=wanted,
        size=params.page_size(call),
        after=after[0] if after else None,
        with_total=params.flag(call, "with_total"),
    )
    depts = depts_for(call, params.flag(call, "with_dept"))
    items = render.users_items(call.reader, page.items, call.app.scopes, depts)
    return params.paged(call, _LIST, filters, page, items)


def _lookup(call: Call, field: str, values: list[str], status: list[str], with_dept: bool) -> bytes:
    found = user_service.find_by(
        call.reader,
        tenant_id=call.tenant_id,
        field=field,
        values=values,
        statuses=params.statuses(status),
    )
    return render.users_items(call.reader, found, call.app.scopes, depts_for(call, with_dept))


@route("POST", "/users/by_emails", scopes=CONTACT_READ, body=ByEmailsBody)
def users_by_emails(call: Call, body: ByEmailsBody) -> bytes:
    """Look users up by email address (case-insensitive); at most 100."""
    return _lookup(call, "email", body.emails, body.status, body.with_dept)


@route("POST", "/users/by_phones", scopes=CONTACT_READ, body=ByPhonesBody)
def users_by_phones(call: Call, body: ByPhonesBody) -> bytes:
    """Look users up by phone number; at most 100."""
    return _lookup(call, "phone", body.phones, body.status, body.with_dept)


@route("POST", "/users/by_ex_user_ids", scopes=CONTACT_READ, body=ByExUserIdsBody)
def users_by_ex_user_ids(call: Call, body: ByExUserIdsBody) -> bytes:
    """Look users up by external user id; at most 100."""
    return _lookup(call, "ex_user_id", body.ex_user_ids, body.status, body.with_dept)


def _set_status(call: Call, body: UserIdsBody, status: UserStatus) -> None:
    batch_writes.set_status(call.directory, tenant_id=call.tenant_id, user_ids=body.user_ids, status=status)


@route("POST", "/users/batch_enable", scopes=CONTACT_WRITE, body=UserIdsBody, writes=True)
def batch_enable(call: Call, body: UserIdsBody) -> None:
    """Set users' status to active (all or none); at most 100."""
    _set_status(call, body, UserStatus.ACTIVE)


@route("POST", "/users/batch_disable", scopes=CONTACT_WRITE, body=UserIdsBody, writes=True)
def batch_disable(call: Call, body: UserIdsBody) -> None:
    """Set users' status to disabled (all or none); at most 100."""
    _set_status(call, body, UserStatus.DISABLED)


def _assignment(
    user_id: str, dept_ids: list[str | int], def_dept_id: str | int | None, *, prefix: str
) -> batch_writes.DeptAssignment:
    return batch_writes.DeptAssignment(
        user_id=user_id,
        dept_ids=tuple(validate.dept_id(x, field=f"{prefix}dept_ids[{j}]") for j, x in enumerate(dept_ids)),
        def_dept_id=(
            validate.dept_id(def_dept_id, field=f"{prefix}def_dept_id")
            if def_dept_id not in (None, "")
            else None
        ),
    )


@route("POST", "/users/batch_update_dept", scopes=CONTACT_WRITE, body=BatchUpdateDeptBody, writes=True)
def batch_update_dept(call: Call, body: BatchUpdateDeptBody) -> None:
    """Replace the departments of up to 100 users (all or none)."""
    if body.items is not None and body.user_ids is not None:
        raise InvalidValue("send either items or user_ids with dept_ids, not both", field="items")
    field = "items"
    if body.items is not None:
        items = [
            _assignment(x.user_id, x.dept_ids, x.def_dept_id, prefix=f"items[{i}].")
            for i, x in enumerate(body.items)
        ]
    elif body.user_ids is not None:
        if body.dept_ids is None:
            raise MissingField("dept_ids is required with user_ids", field="dept_ids")
        items = [_assignment(uid, body.dept_ids, body.def_dept_id, prefix="") for uid in body.user_ids]
        field = "user_ids"
    else:
        raise MissingField("items is required (or user_ids with dept_ids)", field="items")
    batch_writes.update_depts(call.directory, tenant_id=call.tenant_id, items=items, field=field)


@route("POST", "/users/batch_update_order", scopes=CONTACT_WRITE, body=BatchUpdateOrderBody, writes=True)
def batch_update_order(call: Call, body: BatchUpdateOrderBody) -> None:
    """Set users' order within their departments (all or none); at most 100."""
    items = [
        batch_writes.MemberOrder(
            user_id=x.user_id,
            dept_id=validate.dept_id(x.dept_id, field=f"user_order_list[{i}].dept_id"),
            order=x.order,
        )
        for i, x in enumerate(body.user_order_list)
    ]
    batch_writes.update_orders(call.directory, tenant_id=call.tenant_id, items=items)


@route("GET", "/users/{user_id}", scopes=CONTACT_READ, query=("with_dept",))
def get_user(call: Call, _body: None) -> bytes:
    """Read one user (with_dept adds depts[])."""
    user = user_service.get(call.reader, tenant_id=call.tenant_id, user_id=call.path_param("user_id"))
    depts = depts_for(call, params.flag(call, "with_dept"))
    return render.user_reply(call.reader, user, call.app.scopes, depts)


@route("GET", "/users/{user_id}/depts", scopes=CONTACT_READ)
def user_depts(call: Call, _body: None) -> dict[str, object]:
    """The departments a user belongs to."""
    user = user_service.get(call.reader, tenant_id=call.tenant_id, user_id=call.path_param("user_id"))
    found = call.reader.depts(call.tenant_id, list(user.dept_ids))
    ordered = [found[x] for x in user.dept_ids if x in found]
    leaders = dept_service.leaders(call.reader, tenant_id=call.tenant_id, dept_ids=[d.id for d in ordered])
    return {"items": render.depts_items(ordered, leaders)}


@route("POST", "/users/{user_id}/update", scopes=CONTACT_WRITE, body=UpdateUserBody, writes=True)
def update_user(call: Call, body: UpdateUserBody) -> None:
    """Change a user's profile fields; absent or null fields stay, "" clears one."""
    changes: dict[str, object] = {
        k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None
    }
    if "def_dept_id" in changes:
        raw = changes["def_dept_id"]
        assert isinstance(raw, str | int)
        changes["def_dept_id"] = validate.dept_id(raw, field="def_dept_id") if raw != "" else None
    user_service.update(
        call.directory, tenant_id=call.tenant_id, user_id=call.path_param("user_id"), changes=changes
    )


@route("POST", "/users/{user_id}/delete", scopes=CONTACT_WRITE, writes=True)
def delete_user(call: Call, _body: None) -> None:
    """Delete a user; leader_id and relation_user values that named them are cleared."""
    user_service.delete(
        call.directory, tenant_id=call.tenant_id, user_id=call.path_param("user_id"), reason=LeaveReason.OAPI
    )
