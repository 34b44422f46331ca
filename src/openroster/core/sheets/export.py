"""Export: a tenant's people as a sheet that the import reads back without a change."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from openroster.core.directory import Directory
from openroster.core.roster import catalogue as roster_catalogue
from openroster.core.sheets import lookups
from openroster.core.sheets.columns import (
    ENUMS,
    PROFILE_COLUMNS,
    TEXT_KEYS,
    Column,
    Language,
    normalized,
    person_ref,
    roster_columns,
)
from openroster.model.entities import (
    ALL_STATUSES,
    ROOT_DEPT_ID,
    AttributeDefinition,
    AttributeValueData,
    UrlValue,
    User,
    ValueType,
)
from openroster.model.errors import Entity, NotFound


@dataclass(frozen=True, slots=True)
class SheetFormat:
    """How an export writes its cells: the headers' language, and the company's name for its root."""

    language: Language
    root_name: str

    def header(self, c: Column) -> str:
        return c.zh if self.language is Language.ZH else c.en

    def enum(self, key: str, value: str | None) -> str:
        if value is None or value == ENUMS[key].empty:
            return ""
        return ENUMS[key].written.get(value, value) if self.language is Language.ZH else value

    def path(self, abs_path: str) -> str:
        """A department's cell: its path below the company (the company's own name for the root)."""
        parts = abs_path.strip("/").split("/")
        return "/".join(parts[1:]) or self.root_name

    def profile_cells(self, record: Mapping[str, str | None]) -> list[str]:
        """The profile columns' cells of a person given by column key (enumerations as core values)."""
        return [
            self.enum(c.key, record.get(c.key)) if c.key in ENUMS else record.get(c.key) or ""
            for c in PROFILE_COLUMNS
        ]

    def attribute(
        self,
        a: AttributeDefinition,
        value: AttributeValueData | None,
        ref: Callable[[str], str],
        path_of: Callable[[int], str],
    ) -> str:
        """An attribute value's cell; ``ref`` names a person, ``path_of`` a department."""
        if value is None:
            return ""
        if isinstance(value, UrlValue):
            return f"{value.title} {value.link}".strip()
        if isinstance(value, tuple):
            return "; ".join(path_of(x) for x in value)
        if a.value_type is ValueType.OPTION:
            names = {o.key: o.name for o in a.options}
            return names.get(value, value) if self.language is Language.ZH else value
        if a.value_type is ValueType.RELATION_USER:
            return ref(value)
        return value


def attribute_headers(defs: Sequence[AttributeDefinition]) -> list[str]:
    """Each attribute's column: its name, or ``attr:<id>`` when the name is taken by another column."""
    taken = {normalized(s) for c in PROFILE_COLUMNS for s in (c.key, c.zh, c.en, *c.aliases)}
    names = [normalized(a.name) for a in defs]
    return [
        a.name if n not in taken and names.count(n) == 1 else f"attr:{a.id}"
        for a, n in zip(defs, names, strict=True)
    ]


def roster_headers(
    fmt: SheetFormat, fields: Sequence[roster_catalogue.RosterField], defs: Sequence[AttributeDefinition]
) -> list[str]:
    """Each roster field's column: its name in Chinese sheets (unless taken), else its code."""
    if fmt.language is Language.EN:
        return [f.code for f in fields]
    taken = {normalized(s) for c in PROFILE_COLUMNS for s in (c.key, c.zh, c.en, *c.aliases)}
    taken |= {normalized(a.name) for a in defs}
    names = [normalized(f.name) for f in fields]
    return [
        f.name if n not in taken and names.count(n) == 1 else f.code
        for f, n in zip(fields, names, strict=True)
    ]


def profile_headers(fmt: SheetFormat) -> list[str]:
    return [fmt.header(c) for c in PROFILE_COLUMNS]


def export_sheet(
    d: Directory, *, tenant_id: str, language: Language = Language.ZH
) -> tuple[list[str], list[list[str]]]:
    """The tenant's people as a sheet that :func:`import_sheet` reads back without a change."""
    with d.reader() as r:
        tenant = r.tx.tenants.get_tenant(tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id!r} does not exist", field="tenant", entity=Entity.TENANT)
        depts = {x.id: x for x in r.tx.depts.list_all(tenant_id)}
        fmt = SheetFormat(language, depts[ROOT_DEPT_ID].name)
        defs = list(r.definitions(tenant_id))
        fields = roster_columns(defs, r.field_options(tenant_id))
        people: list[User] = []
        values: dict[str, dict[str, AttributeValueData]] = {}
        stored: dict[str, dict[str, str]] = {}
        after: str | None = None
        while True:
            ids = r.tx.users.page_ids(tenant_id, statuses=ALL_STATUSES, after=after, limit=lookups.BATCH)
            if not ids:
                break
            found = r.tx.users.get_users(tenant_id, ids)
            people.extend(found[i] for i in ids if i in found)
            values.update(lookups.attribute_values(r.tx, tenant_id, ids, {a.id: a for a in defs}))
            stored.update(lookups.first_roster_rows(r.tx, tenant_id, ids))
            after = ids[-1]
    refs = {u.id: person_ref(u.employee_id, u.email, u.id) for u in people}
    codes = [c for c in fields if any(c in s for s in stored.values())]
    headers = (
        profile_headers(fmt) + attribute_headers(defs) + roster_headers(fmt, [fields[c] for c in codes], defs)
    )

    def path_of(dept_id: int) -> str:
        return fmt.path(depts[dept_id].abs_path) if dept_id in depts else str(dept_id)

    def ref(uid: str) -> str:
        return refs.get(uid, uid)

    rows: list[list[str]] = []
    for u in people:
        cells = fmt.profile_cells(profile_record(u, path_of=path_of, ref=ref))
        cells += [fmt.attribute(a, values.get(u.id, {}).get(a.id), ref, path_of) for a in defs]
        cells += [stored.get(u.id, {}).get(c, "") for c in codes]
        rows.append(cells)
    return headers, rows


def profile_record(
    u: User, *, path_of: Callable[[int], str], ref: Callable[[str], str]
) -> dict[str, str | None]:
    """A person's profile cells by column key (enumerations as core values)."""
    record: dict[str, str | None] = {k: getattr(u, k) for k in TEXT_KEYS}
    record.update(
        id=u.id,
        gender=u.gender.value,
        role=u.role.value,
        status=u.status.value,
        employment_type=u.employment_type,
        employment_status=u.employment_status,
        departments="; ".join(path_of(x) for x in u.dept_ids),
        main_department=path_of(u.def_dept_id) if u.def_dept_id is not None and len(u.dept_ids) > 1 else "",
        leader=ref(u.leader_id) if u.leader_id else "",
    )
    return record
