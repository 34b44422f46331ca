"""Custom attributes: the tenant's definitions and their options (a page of their own), and one person's
values by type (a form on the Person page, saved by ``people.py``).

Definitions go through ``core.custom.attributes`` (create, update, delete: the rules of the WPS
definition routes), values through ``update_values`` (the rules of the WPS value routes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from openroster.console import pages
from openroster.console.session import Session
from openroster.core.custom import attributes as attr_service
from openroster.core.directory import Reader
from openroster.core.tenancy import tenants as tenant_service
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    UrlValue,
    User,
    UserAttributeUpdate,
    ValueType,
)
from openroster.model.errors import CoreError, NotFound

VALUE_TYPES: tuple[str, ...] = tuple(v.value for v in ValueType)


@dataclass(frozen=True, slots=True)
class AttrField:
    """One definition as the person form shows it, with the person's value as text."""

    definition: AttributeDefinition
    #: text, option key, user id, department ids ("1, 4"), or the url's link.
    value: str
    #: The url's title.
    title: str = ""

    @property
    def input_id(self) -> str:
        return f"attr-{self.definition.id}"


def person_fields(r: Reader, tenant_id: str, user: User) -> list[AttrField]:
    """Every attribute of the tenant with ``user``'s value."""
    values = {
        v.attr_id: v.value
        for v in attr_service.read_values(r, tenant_id=tenant_id, user_ids=[user.id]).get(user.id, [])
    }
    out = []
    for definition in attr_service.definitions(r, tenant_id=tenant_id):
        value = values.get(definition.id)
        if isinstance(value, UrlValue):
            out.append(AttrField(definition, value.link, value.title))
        elif isinstance(value, tuple):
            out.append(AttrField(definition, ", ".join(str(x) for x in value)))
        else:
            out.append(AttrField(definition, value or ""))
    return out


def updates_from(form: dict[str, str], fields: list[AttrField], user_id: str) -> UserAttributeUpdate:
    """The values posted for ``fields``, as the service takes them ("" clears a value)."""
    attrs = []
    for f in fields:
        raw = form.get(f.input_id, "").strip()
        vt = f.definition.value_type
        aid = f.definition.id
        if vt is ValueType.URL:
            title = form.get(f"{f.input_id}-title", "").strip()
            attrs.append(AttributeUpdate(attr_id=aid, url_title=title, url_link=raw, has_url=True))
        elif vt is ValueType.RELATION_DEPTS:
            attrs.append(
                AttributeUpdate(attr_id=aid, relation_depts=tuple(x for x in re.split(r"[,\s]+", raw) if x))
            )
        elif vt is ValueType.OPTION:
            attrs.append(AttributeUpdate(attr_id=aid, option=raw))
        elif vt is ValueType.RELATION_USER:
            attrs.append(AttributeUpdate(attr_id=aid, relation_user=raw))
        else:
            attrs.append(AttributeUpdate(attr_id=aid, text=raw))
    return UserAttributeUpdate(user_id=user_id, attrs=tuple(attrs))


def error_input(error: CoreError | None, fields: list[AttrField]) -> str:
    """The input id of the attribute ``error`` is about ("" when none)."""
    found = re.search(r"custom_attrs\[(\d+)\]", error.field or "") if error is not None else None
    if found is None or int(found[1]) >= len(fields):
        return ""
    return fields[int(found[1])].input_id


def _options(text: str) -> tuple[tuple[str | None, str], ...]:
    """``key: name`` or ``name`` per line (a new option without a key gets one)."""
    out: list[tuple[str | None, str]] = []
    for line in text.splitlines():
        key, sep, name = line.partition(":")
        if sep and key.strip() and name.strip():
            out.append((key.strip(), name.strip()))
        elif line.strip():
            out.append((None, line.strip()))
    return tuple(out)


def routes(r: APIRouter) -> None:
    pages.notice_page(r, "/tenants/{tenant_id}/attributes", _page)

    @r.post("/tenants/{tenant_id}/attributes")
    async def create(request: Request, tenant_id: str) -> Response:
        session, form = await pages.posted(request)
        item = attr_service.NewDefinition(
            name=form.get("attr_name", ""),
            value_type=form.get("value_type", ""),
            options=_options(form.get("options", "")),
        )
        try:
            attr_service.create_definitions(
                pages.console_of(request).directory, tenant_id=tenant_id, items=[item]
            )
        except CoreError as exc:
            return _page(request, session, tenant_id, error=exc, form=form)
        return pages.see_other(pages.url("tenants", tenant_id, "attributes", done="created"))

    @r.post("/tenants/{tenant_id}/attributes/{attr_id}")
    async def change(request: Request, tenant_id: str, attr_id: str) -> Response:
        session, form = await pages.posted(request)
        d = pages.console_of(request).directory
        if form.get("delete") == "1":
            attr_service.delete_definitions(d, tenant_id=tenant_id, attr_ids=[attr_id])
            return pages.see_other(pages.url("tenants", tenant_id, "attributes", done="deleted"))
        with d.reader() as reader:
            known = {a.id: a for a in attr_service.definitions(reader, tenant_id=tenant_id)}
        if attr_id not in known:
            raise NotFound(f"attribute {attr_id!r} does not exist", field="attr_id")
        options = (
            _options(form.get(f"options-{attr_id}", ""))
            if known[attr_id].value_type is ValueType.OPTION
            else None
        )
        change = attr_service.DefinitionChange(id=attr_id, name=form.get(f"name-{attr_id}"), options=options)
        try:
            attr_service.update_definitions(d, tenant_id=tenant_id, items=[change])
        except CoreError as exc:
            return _page(request, session, tenant_id, error=exc, form=form, editing=attr_id)
        return pages.see_other(pages.url("tenants", tenant_id, "attributes", done="saved"))


def _page(
    request: Request,
    session: Session,
    tenant_id: str,
    *,
    done: str = "",
    error: CoreError | None = None,
    form: dict[str, str] | None = None,
    editing: str = "",
) -> Response:
    d = pages.console_of(request).directory
    tenant = tenant_service.get(d, tenant_id)
    with d.reader() as reader:
        defs = attr_service.definitions(reader, tenant_id=tenant_id)
    values = {"attr_name": "", "value_type": "text", "options": ""}
    for a in defs:
        values[f"name-{a.id}"] = a.name
        values[f"options-{a.id}"] = "\n".join(f"{o.key}: {o.name}" for o in a.options)
    values.update(form or {})
    field = pages.field_of(error)
    invalid = {
        "name": f"name-{editing}" if editing else "attr_name",
        "options": f"options-{editing}" if editing else "options",
    }
    return pages.page(
        request,
        "attributes.html",
        session=session,
        tenant=tenant,
        definitions=defs,
        values=values,
        value_types=VALUE_TYPES,
        done=done,
        error=error,
        error_field=invalid.get(field, "value_type" if field == "value_type" else ""),
    )
