"""The options of the roster's select fields, per tenant.

The catalogue (``catalogue.py``) gives each select field its options; a tenant may add options to
a field the roster keeps itself (``RosterField.options_editable``) and delete them. Its options
are then stored, all of them (``roster_field_options``, ``store/roster.py``), and every reader of
the catalogue sees them: the field lists of both DingTalk generations, roster reads and writes,
imports and exports, the console. An added option gets the next free value (the catalogue numbers
its options ``"1"``, ``"2"``, ...) and becomes a valid value; a deleted one is refused on a write
from then on, while a stored value holding it is kept and still reads with its label (a person's
record is not rewritten by a change of the form). Adding a deleted option's label again brings it
back with its old value.

A custom field (the tenant's option attributes, ``core/custom/attributes.py``) changes its
options through its attribute definition, under the attributes' rule: a deleted option's values
are cleared, with one change record per person who held one.

Each change is one recorded write: an ``attribute_definition`` update naming the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from openroster.core import recording, validate
from openroster.core.custom import attributes
from openroster.core.directory import Directory
from openroster.core.roster.catalogue import RosterField, catalogue_for
from openroster.core.runtime import limits
from openroster.model.changes import Operation
from openroster.model.entities import FieldOption, ValueType
from openroster.model.errors import InvalidValue, TooMany

#: Labels one change may name (the platform's limit).
LABELS_MAX = 20
#: Options a roster select field may hold, deleted ones included.
OPTIONS_MAX = limits.ATTR_OPTIONS_MAX


class OptionsChange(StrEnum):
    ADD = "add"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Names:
    """How the caller names the change's parts (its refusals name them)."""

    group_id: str = "group_id"
    field_code: str = "field_code"
    labels: str = "labels"


def editable(f: RosterField) -> bool:
    """Whether :func:`change` may change ``f``'s options: a custom option field, or a select field
    the roster keeps itself (not a profile field's enumeration, not a field with no options)."""
    return _custom(f) or f.options_editable


def _custom(f: RosterField) -> bool:
    """A custom option field: its options are its attribute definition's."""
    return f.attr is not None and f.attr.value_type is ValueType.OPTION


def change(
    d: Directory,
    *,
    tenant_id: str,
    group_id: str,
    field_code: str,
    labels: Sequence[str],
    op: OptionsChange,
    names: Names = Names(),
) -> RosterField:
    """Add or delete options of one select field, all or none; the field as it is then."""
    validate.count(labels, field=names.labels, limit=LABELS_MAX, what="label")
    with d.writer() as tx:
        stored = tx.roster.list_field_options(tenant_id)
        cat = catalogue_for(tx.attrs.list_definitions(tenant_id), stored)
        f = cat.fields.get(field_code)
        if f is None:
            raise InvalidValue(f"{names.field_code}: no roster field {field_code!r}", field=names.field_code)
        if f.group_id != group_id:
            raise InvalidValue(
                f"{names.group_id}: field {field_code!r} is in group {f.group_id!r}, not {group_id!r}",
                field=names.group_id,
            )
        custom = _custom(f)
        if not editable(f):
            raise InvalidValue(
                f"{names.field_code}: the options of {field_code!r} ({f.name}) cannot change"
                " (it is no select field, or its options are the person's own)",
                field=names.field_code,
            )
        clean = _labels(labels, names.labels)
        live = {o.label: o.value for o in f.options}
        for i, label in enumerate(clean):
            where = f"{names.labels}[{i}]"
            if op is OptionsChange.ADD and label in live:
                raise InvalidValue(f"{where}: {label!r} is already an option of {field_code}", field=where)
            if op is OptionsChange.DELETE and label not in live:
                raise InvalidValue(f"{where}: {label!r} is not an option of {field_code}", field=where)
        if op is OptionsChange.DELETE and len(clean) == len(live):
            raise InvalidValue(
                f"{names.labels}: a select field keeps at least one option", field=names.labels
            )
        if custom:
            assert f.attr is not None
            kept: list[tuple[str | None, str]] = [
                (o.key, o.name) for o in f.attr.options if o.name not in clean
            ]
            added: list[tuple[str | None, str]] = (
                [(None, label) for label in clean] if op is OptionsChange.ADD else []
            )
            if len(kept) + len(added) > limits.ATTR_OPTIONS_MAX:
                raise _too_many(names.labels, limits.ATTR_OPTIONS_MAX)
            edit = attributes.DefinitionChange(id=f.attr.id, options=tuple(kept + added))
            attributes.update_definitions_in(tx, tenant_id=tenant_id, items=[edit])
        else:
            options = _changed(f, stored.get(field_code), clean, op, names)
            tx.roster.put_field_options(tenant_id, field_code, options)
            tx.changed(tenant_id, "rosteroptions", field_code)
            recording.attribute_definitions(tx, tenant_id, Operation.UPDATE, [field_code])
        after = catalogue_for(tx.attrs.list_definitions(tenant_id), tx.roster.list_field_options(tenant_id))
        return after.fields[field_code]


def _labels(labels: Sequence[str], field: str) -> list[str]:
    out: list[str] = []
    for i, raw in enumerate(labels):
        where = f"{field}[{i}]"
        label = validate.text(raw, field=where, max_len=limits.NAME_MAX, required=True)
        assert label is not None
        if label in out:
            raise InvalidValue(f"{where}: {label!r} is given twice", field=where)
        out.append(label)
    return out


def _too_many(field: str, limit: int) -> TooMany:
    return TooMany(f"{field}: a select field holds at most {limit} options", field=field, limit=limit)


def _changed(
    f: RosterField,
    stored: Sequence[FieldOption] | None,
    labels: Sequence[str],
    op: OptionsChange,
    names: Names,
) -> list[FieldOption]:
    """The field's complete option list after the change (deleted options kept)."""
    if stored is None:  # the first change: the catalogue's own options, stored from now on
        stored = [FieldOption(f.code, o.value, o.label, i) for i, o in enumerate(f.options)]
    out = list(stored)
    wanted = set(labels)
    if op is OptionsChange.DELETE:
        return [
            FieldOption(o.field_code, o.value, o.label, o.order, True)
            if o.label in wanted and not o.deleted
            else o
            for o in out
        ]
    deleted = {o.label: i for i, o in enumerate(out) if o.deleted}
    top = max((int(o.value) for o in out if o.value.isascii() and o.value.isdigit()), default=0)
    order = max((o.order for o in out), default=-1)
    for label in labels:
        if label in deleted:
            o = out[deleted[label]]
            out[deleted[label]] = FieldOption(o.field_code, o.value, o.label, o.order)
            continue
        top += 1
        order += 1
        out.append(FieldOption(f.code, str(top), label, order))
    if len(out) > OPTIONS_MAX:
        raise _too_many(names.labels, OPTIONS_MAX)
    return out
