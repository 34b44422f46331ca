"""Writing the roster: one person's groups, rows and fields, checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from openroster.core import recording, validate
from openroster.core.custom import attributes
from openroster.core.directory import Directory, in_own_writer
from openroster.core.people import users
from openroster.core.roster import profile as roster_profile
from openroster.core.roster.catalogue import (
    DETAIL_ROWS_MAX,
    PHOTO_URL_MAX,
    TEXT_MAX,
    UPDATE_FIELDS_MAX,
    UPDATE_GROUPS_MAX,
    UPDATE_SECTIONS_MAX,
    FieldType,
    RosterField,
    RosterGroup,
    Source,
    catalogue_for,
)
from openroster.model.entities import (
    AttributeDefinition,
    AttributeUpdate,
    StoredValue,
    User,
    UserAttributeUpdate,
    ValueType,
)
from openroster.model.errors import (
    BrokenReference,
    CoreError,
    Entity,
    InvalidValue,
    MissingField,
    NotFound,
    TooMany,
)
from openroster.store import WriteTx


@dataclass(frozen=True, slots=True)
class FieldWrite:
    code: str
    value: str


@dataclass(frozen=True, slots=True)
class SectionWrite:
    """One row to write: ``old_index`` names an existing row (only the fields sent change);
    without it the section is a new row of a detail group (fields not sent are empty)."""

    fields: tuple[FieldWrite, ...]
    old_index: int | None = None


@dataclass(frozen=True, slots=True)
class GroupWrite:
    group_id: str
    sections: tuple[SectionWrite, ...]


@dataclass(frozen=True, slots=True)
class Names:
    """How the caller spells the parts of a roster write, for the paths its refusals name
    (``groups[0].sections[1].section[2].field_code`` by default)."""

    group_id: str = "group_id"
    sections: str = "sections"
    old_index: str = "old_index"
    section: str = "section"
    field_code: str = "field_code"


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def update_in(
    tx: WriteTx,
    d: Directory,
    *,
    tenant_id: str,
    user_id: str,
    groups: Sequence[GroupWrite],
    prefix: str = "",
    user_field: str = "user_id",
    names: Names = Names(),
) -> None:
    """Write some of one person's roster inside an open transaction.

    Every group, row, field and value is checked before anything is written;
    errors name the item (``{prefix}groups[0].sections[1].section[2].value``).
    On a detail group, ``old_index`` names the row to edit (only the fields
    sent change); without it, or naming the next row (the number of rows),
    the section adds a row and the fields it does not send are empty. A plain
    group has exactly one row: a section on it edits that row, with or
    without ``old_index: 0`` (some clients drop a zero ``old_index``).
    ``sys00-mainDeptId`` set to a department the person is not in has no
    effect, as on the platform. ``user_field`` is the caller's name for ``user_id`` and ``names``
    its names of the write's parts (errors name them).
    """
    who = f"{prefix}{user_field}"
    if not user_id:
        raise MissingField(f"{who} is required", field=who)
    # Read in a write transaction, the person stays locked until it ends (see store/users.get_users):
    # two appends to one detail group cannot pick the same row number.
    # The person, the definitions, the field options and the values held, asked together (one
    # round trip on PostgreSQL; the values after the person's lock, the pipeline runs in order).
    # The definitions and the field options are asked once a group (``WriteTx.kept``).
    found, definitions, options, values = tx.together(
        tx.users.get_users_read(tenant_id, [user_id]),
        tx.kept(tx.attrs.definitions_read(tenant_id)),
        tx.kept(tx.roster.list_field_options_read(tenant_id)),
        tx.roster.get_values_read(tenant_id, [user_id]),
    )
    current = found.get(user_id)
    if current is None:
        raise NotFound(f"{who}: user {user_id!r} does not exist", field=who, entity=Entity.USER)
    validate.count(groups, field=f"{prefix}groups", limit=UPDATE_GROUPS_MAX, what="group", verb="hold")
    cat = catalogue_for(definitions, options)
    held = values.get(user_id, [])
    detail_ids = [g.group_id for g in groups if (cg := cat.group(g.group_id)) is not None and cg.detail]
    counts = row_counts(held, detail_ids)
    stored: list[StoredValue] = []
    profile: dict[str, object] = {}
    custom: dict[str, AttributeUpdate] = {}
    profile_paths: dict[str, tuple[str, str]] = {}
    relations: dict[str, str] = {}
    #: Deleted options sent: accepted only where the row holds them already.
    unchanged: list[tuple[StoredValue, str, RosterField]] = []
    for gi, g in enumerate(groups):
        gp = f"{prefix}groups[{gi}]"
        group = cat.group(g.group_id)
        if group is None:
            where = f"{gp}.{names.group_id}"
            raise InvalidValue(f"{where}: no roster group {g.group_id!r}", field=where)
        validate.count(
            g.sections, field=f"{gp}.{names.sections}", limit=UPDATE_SECTIONS_MAX, what="section", verb="hold"
        )
        for si, s in enumerate(g.sections):
            sp = f"{gp}.{names.sections}[{si}]"
            row, appended = _target_row(group, s.old_index, counts, field=f"{sp}.{names.old_index}")
            validate.count(
                s.fields, field=f"{sp}.{names.section}", limit=UPDATE_FIELDS_MAX, what="field", verb="hold"
            )
            sent: dict[str, str] = {}
            for fi, fw in enumerate(s.fields):
                try:
                    fp = f"{sp}.{names.section}[{fi}]"
                    code_at = f"{fp}.{names.field_code}"
                    f = cat.fields.get(fw.code)
                    if f is None or f.group_id != group.id:
                        raise InvalidValue(
                            f"{code_at}: {fw.code!r} is not a field of group {group.id!r}", field=code_at
                        )
                    if f.read_only:
                        raise InvalidValue(
                            f"{code_at}: {fw.code!r} ({f.name}) cannot be updated through the roster",
                            field=code_at,
                        )
                    if fw.code in sent:
                        raise InvalidValue(
                            f"{code_at}: {fw.code!r} appears twice in one section", field=code_at
                        )
                    if f.deleted and not appended and f.was_option(fw.value.strip()):
                        # Accepted only as the value the row holds already (a form sent back
                        # unchanged): checked once the held values are read, below.
                        value = sent[fw.code] = fw.value.strip()
                        unchanged.append((StoredValue(group.id, row, f.code, value), f"{fp}.value", f))
                    else:
                        value = sent[fw.code] = checked_value(f, fw.value, field=f"{fp}.value")
                    if f.source is Source.PROFILE:
                        core = _profile_change(profile, current, f, value)
                        if core is not None:
                            profile_paths[core] = (f"{fp}.value", f.code)
                    elif f.source is Source.CUSTOM and f.attr is not None:
                        if f.attr.value_type is ValueType.RELATION_USER and value:
                            relations[f"{fp}.value"] = value
                        custom[f.code] = _attribute_update(f.attr, value)
                except CoreError as exc:
                    raise exc.in_field(Entity.ROSTER_FIELD, fw.code) from None
            for f in group.fields:
                if f.source is not Source.STORED:
                    continue
                if f.code in sent:
                    stored.append(StoredValue(group.id, row, f.code, sent[f.code]))
                elif appended:
                    stored.append(StoredValue(group.id, row, f.code, ""))
    was = {(v.group_id, v.row, v.field_code): v.value for v in held}
    for v, where, f in unchanged:
        if was.get((v.group_id, v.row, v.field_code)) != v.value:
            try:
                checked_value(f, v.value, field=where)
            except CoreError as exc:
                raise exc.in_field(Entity.ROSTER_FIELD, f.code) from None
    known = tx.users.existing_ids(tenant_id, relations.values())
    for where, ref in relations.items():
        if ref not in known:
            raise BrokenReference(f"{where}: user {ref!r} does not exist", field=where, entity=Entity.USER)
    changed_codes: list[str] = []
    if profile:
        try:
            updated = users.update_in(
                tx, d, tenant_id=tenant_id, user_id=user_id, changes=profile, current=current
            )
        except CoreError as exc:
            raise located(exc, profile_paths, owner=Entity.ROSTER_FIELD) from None
        changed_codes += [
            code
            for core, (_, code) in profile_paths.items()
            if getattr(current, core) != getattr(updated, core)
        ]
    if custom:
        recorded = len(tx.records)
        attributes.update_values_in(
            tx,
            tenant_id=tenant_id,
            updates=[UserAttributeUpdate(user_id=user_id, attrs=tuple(custom.values()))],
            definitions=definitions,
        )
        attr_codes = {u.attr_id: code for code, u in custom.items()}
        changed_codes += [attr_codes[a] for r in tx.records[recorded:] for a in r.fields if a in attr_codes]
    written = _last_wins(stored)
    changed_codes += [v.field_code for v in written if was.get((v.group_id, v.row, v.field_code)) != v.value]
    tx.roster.put_values(tenant_id, [(user_id, v) for v in written])
    tx.changed(tenant_id, "user", user_id)
    if changed_codes:
        recording.roster_changed(tx, tenant_id, user_id, list(dict.fromkeys(changed_codes)))


#: Write some of one person's roster, all or nothing (see :func:`update_in`).
update = in_own_writer(update_in)


def load_in(tx: WriteTx, *, tenant_id: str, records: Mapping[str, Sequence[GroupWrite]]) -> int:
    """Give people with no roster yet their roster values (seeds, the demo company, benchmarks).

    Only stored fields (not profile, custom or read-only ones); every section
    is a new row of its group, in order (a plain group takes one section).
    Values are checked as :func:`update_in` checks them; nothing is written
    if any is wrong. Returns how many values were written.
    """
    present = tx.users.existing_ids(tenant_id, records)
    cat = catalogue_for((), tx.roster.list_field_options(tenant_id))
    items: list[tuple[str, StoredValue]] = []
    for uid, groups in records.items():
        p = f"records[{uid!r}]"
        if uid not in present:
            raise NotFound(f"{p}: user {uid!r} does not exist", field=p, entity=Entity.USER)
        for gi, g in enumerate(groups):
            group = cat.group(g.group_id)
            if group is None:
                raise InvalidValue(f"{p}.groups[{gi}].group_id: no system group {g.group_id!r}", field=p)
            if not group.detail and len(g.sections) > 1:
                raise InvalidValue(f"{p}.groups[{gi}]: group {group.id!r} has exactly one row", field=p)
            for row, s in enumerate(g.sections):
                sent = {}
                for fi, fw in enumerate(s.fields):
                    where = f"{p}.groups[{gi}].sections[{row}].section[{fi}]"
                    f = cat.fields.get(fw.code)
                    if f is None or f.group_id != group.id or f.source is not Source.STORED:
                        raise InvalidValue(
                            f"{where}.field_code: {fw.code!r} is not a stored field of {group.id}",
                            field=where,
                        )
                    sent[f.code] = checked_value(f, fw.value, field=f"{where}.value")
                for f in group.fields:
                    if f.source is Source.STORED and (group.detail or f.code in sent):
                        items.append((uid, StoredValue(group.id, row, f.code, sent.get(f.code, ""))))
        tx.changed(tenant_id, "user", uid)
    tx.roster.put_values(tenant_id, items)
    return len(items)


def row_counts(held: Sequence[StoredValue], group_ids: Sequence[str]) -> dict[str, int]:
    """How many rows each of ``group_ids`` holds among a person's values ``held`` (highest row
    index + 1; 0 when none): what ``store.roster.row_counts`` asks the database for, from the
    values a write reads anyway."""
    counts = dict.fromkeys(group_ids, 0)
    for v in held:
        if v.group_id in counts and v.row >= counts[v.group_id]:
            counts[v.group_id] = v.row + 1
    return counts


def _last_wins(items: Sequence[StoredValue]) -> list[StoredValue]:
    out: dict[tuple[str, int, str], StoredValue] = {}
    for v in items:
        out[(v.group_id, v.row, v.field_code)] = v
    return list(out.values())


def _target_row(
    group: RosterGroup, old_index: int | None, counts: dict[str, int], *, field: str
) -> tuple[int, bool]:
    """``(row, is_new)``: the row a section writes, and whether it adds that row."""
    if not group.detail:
        if old_index not in (None, 0):
            raise InvalidValue(
                f"{field}: group {group.id!r} has exactly one row (0), not {old_index}", field=field
            )
        return 0, False
    have = counts.get(group.id, 0)
    if old_index is not None and (old_index < 0 or old_index > have):
        raise InvalidValue(
            f"{field}: group {group.id!r} has no row {old_index} (the person has {have} row(s); "
            "leave old_index out, or give the next row number, to add a row)",
            field=field,
        )
    if old_index is not None and old_index < have:
        return old_index, False
    if have >= DETAIL_ROWS_MAX:
        raise TooMany(
            f"{field}: group {group.id!r} already holds {have} rows; the limit is {DETAIL_ROWS_MAX}",
            field=field,
            limit=DETAIL_ROWS_MAX,
        )
    counts[group.id] = have + 1
    return have, True


def checked_value(f: RosterField, raw: str, *, field: str) -> str:
    """The value to store for ``raw``; ``""`` clears the field."""
    value = raw.strip()
    if value == "":
        return ""
    if f.field_type is FieldType.SELECT:
        if not f.has_option(value):
            allowed = ", ".join(o.value for o in f.options[:60])
            raise InvalidValue(
                f"{field}: {raw!r} is not an option of {f.code} ({f.name}); options: {allowed}", field=field
            )
        return value
    if f.field_type in (FieldType.DATE, FieldType.DATE_WITH_LONG):
        if not is_date(value):
            raise InvalidValue(f"{field}: {raw!r} is not a date in yyyy-MM-dd form", field=field)
        return value
    if f.field_type is FieldType.PHOTO:
        parts = urlsplit(value)
        if len(value) > PHOTO_URL_MAX or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidValue(
                f"{field}: a photo field holds an http(s) URL of at most {PHOTO_URL_MAX} characters",
                field=field,
            )
        return value
    checked = validate.text(value, field=field, max_len=TEXT_MAX)
    return checked or ""


def is_date(value: str) -> bool:
    """Whether ``value`` is a real date written ``yyyy-MM-dd``."""
    if not _DATE.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _profile_change(changes: dict[str, object], current: User, f: RosterField, value: str) -> str | None:
    """Record the core change a profile field's value makes; returns the core field (``None``: no change)."""
    core = roster_profile.ROSTER_TO_CORE[f.code]
    if f.code in roster_profile.ENUMERATIONS:
        mapped = roster_profile.to_core(roster_profile.ENUMERATIONS[f.code], value)
        changes[core] = mapped or ("undefined" if core == "gender" else "")
        return core
    if core == "def_dept_id":
        # As on the platform: a department the person is not in changes nothing.
        if not (value.isascii() and value.isdigit() and int(value) in current.dept_ids):
            return None
        changes[core] = int(value)
        return core
    changes[core] = value
    return core


def located(
    exc: CoreError, paths: Mapping[str, tuple[str, str]], *, owner: Entity | None = None
) -> CoreError:
    """``exc`` (about a core user field) re-addressed to the item that set the field.

    ``paths`` maps a core field to ``(where, name)``: the item's path and the
    name the caller knows the field by, which replaces the core field's name
    at the start of the message. With ``owner`` the error is then about that
    item's field ``(owner, name)``; else it stays about the user's field.
    """
    hit = paths.get(exc.field or "")
    if hit is None or isinstance(exc, TooMany):
        return exc
    where, name = hit
    detail = exc.message
    if exc.field and detail.startswith(exc.field):
        detail = name + detail[len(exc.field) :]
    try:
        return type(exc)(
            f"{where}: {detail}",
            field=where,
            entity=exc.entity,
            index=exc.index,
            item_field=(owner, name) if owner is not None else exc.item_field,
        )
    except TypeError:  # pragma: no cover - an error class with other arguments
        return exc


def _attribute_update(a: AttributeDefinition, value: str) -> AttributeUpdate:
    if a.value_type is ValueType.OPTION:
        return AttributeUpdate(attr_id=a.id, option=value)
    if a.value_type is ValueType.RELATION_USER:
        return AttributeUpdate(attr_id=a.id, relation_user=value)
    return AttributeUpdate(attr_id=a.id, text=value)
