"""The options of the DingTalk roster's select fields: every select field of the tenant's roster
catalogue (the system fields and its custom option fields) with its options, an option added or
removed one at a time.

A change goes through ``core.roster.options.change``, the service RosterMetaFieldOptionsUpdate
calls, so the console accepts and refuses what that call does and both DingTalk generations' field
lists read the result back. Whether a field's options may change at all is the service's own rule
(``options.editable``): a field it refuses is shown with its options and no form.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import pages
from openroster.console.session import Session
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.roster import options as option_service
from openroster.core.roster.catalogue import FieldType, RosterField
from openroster.core.tenancy import tenants as tenant_service
from openroster.model.errors import CoreError, InvalidValue

#: How the service names the form's parts in its refusals.
_NAMES = option_service.Names(group_id="group", field_code="field", labels="option")
#: The form's ``op`` values.
_OPS = {"add": option_service.OptionsChange.ADD, "remove": option_service.OptionsChange.DELETE}


def input_id(f: RosterField) -> str:
    """The id of the "New option" input of ``f``'s form."""
    return f"new-{f.code}"


def routes(r: APIRouter) -> None:
    pages.notice_page(r, "/tenants/{tenant_id}/roster-options", _page)

    @r.post("/tenants/{tenant_id}/roster-options/{field_code}")
    async def change(request: Request, tenant_id: str, field_code: str) -> Response:
        session, form = await pages.posted(request)
        op = form.get("op", "")
        change_op = _OPS.get(op)
        if change_op is None:  # not a form of the page
            raise InvalidValue(f"op: {op!r} is not one of {', '.join(_OPS)}", field="op")
        label = form.get("label", "")
        try:
            option_service.change(
                pages.console_of(request).directory,
                tenant_id=tenant_id,
                group_id=form.get("group", ""),
                field_code=field_code,
                labels=[label],
                op=change_op,
                names=_NAMES,
            )
        except CoreError as exc:
            return _page(request, session, tenant_id, error=exc, field=field_code, op=op, label=label)
        done = "option_added" if change_op is option_service.OptionsChange.ADD else "option_removed"
        return pages.see_other(pages.url("tenants", tenant_id, "roster-options", done=done, field=field_code))


def _page(
    request: Request,
    session: Session,
    tenant_id: str,
    *,
    done: str = "",
    error: CoreError | None = None,
    field: str = "",
    op: str = "",
    label: str = "",
) -> Response:
    d = pages.console_of(request).directory
    tenant = tenant_service.get(d, tenant_id)
    with d.reader() as reader:
        cat = roster_catalogue.catalogue(reader, tenant_id=tenant_id)
    field = field or request.query_params.get("field", "")
    named = cat.fields.get(field)
    groups = [
        (g, fields)
        for g in cat.groups
        if (fields := [f for f in g.fields if f.field_type is FieldType.SELECT])
    ]
    return pages.page(
        request,
        "roster_options.html",
        session=session,
        tenant=tenant,
        groups=groups,
        editable=option_service.editable,
        input_id=input_id,
        field=field,
        # The field's name beside the service's message, which names the form's part.
        message=f"{named.name if named else field}: {error.message}" if error else "",
        done=done if named else "",
        done_field=named.name if named else "",
        # What was typed in the field's "New option" when an addition was refused, and that input.
        typed=label if error is not None and op == "add" else "",
        invalid=input_id(named) if error is not None and named is not None and op == "add" else "",
    )
