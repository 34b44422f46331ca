"""Custom attribute services: per-tenant definitions and per-user values.

A value is checked against its definition before anything is written:
an ``option`` must be one of the attribute's option keys, a ``relation_user``
a user of the tenant, ``relation_depts`` departments of the tenant, a ``url``
needs an http(s) ``link``, and ``text`` is at most ``limits.ATTR_TEXT_MAX``
characters. Only the field matching the attribute's value type is read; the
others are ignored (the platform's own example sends all of them). An empty
value (``""``, ``[]``, a url with an empty link) clears the attribute.
"""

from __future__ import annotations

import secrets as _random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from openroster.core import recording, validate
from openroster.core.custom.checks import checked_batch, quick_batch
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.model import errors
from openroster.model.changes import Operation
from openroster.model.entities import (
    AttributeDefinition,
    AttributeOption,
    AttributeValue,
    AttributeValueData,
    UserAttributeUpdate,
    ValueType,
)
from openroster.store import WriteTx


@dataclass(frozen=True, slots=True)
class NewDefinition:
    name: str
    value_type: str
    options: tuple[tuple[str | None, str], ...] = ()
    id: str | None = None


def _taken(field: str, what: str) -> errors.Conflict:
    return errors.Conflict(f"{field}: {what}", field=field, entity=errors.Entity.ATTRIBUTE_DEFINITION)


def definitions(r: Reader, *, tenant_id: str) -> list[AttributeDefinition]:
    return r.definitions(tenant_id)


def create_definitions(
    d: Directory, *, tenant_id: str, items: Sequence[NewDefinition]
) -> list[AttributeDefinition]:
    """Define new attributes, all or none."""
    validate.count(items, field="items", limit=limits.ATTR_DEFS_CREATE_MAX, what="attribute", verb="hold")
    with d.writer() as tx:
        return create_definitions_in(tx, d, tenant_id=tenant_id, items=items)


def create_definitions_in(
    tx: WriteTx, d: Directory, *, tenant_id: str, items: Sequence[NewDefinition]
) -> list[AttributeDefinition]:
    existing = tx.attrs.list_definitions(tenant_id)
    if len(existing) + len(items) > limits.ATTR_DEFS_PER_TENANT_MAX:
        raise errors.TooMany(
            f"a tenant may define at most {limits.ATTR_DEFS_PER_TENANT_MAX} attributes",
            field="items",
            limit=limits.ATTR_DEFS_PER_TENANT_MAX,
        )
    names = {a.name for a in existing}
    ids = {a.id for a in existing}
    order = max((a.order for a in existing), default=0)
    now = d.clock.now_int()
    created: list[AttributeDefinition] = []
    for i, item in enumerate(items):
        p = f"items[{i}]"
        name = validate.text(item.name, field=f"{p}.name", max_len=limits.NAME_MAX, required=True)
        assert name is not None
        if name in names:
            raise _taken(f"{p}.name", f"an attribute named {name!r} already exists")
        names.add(name)
        value_type = validate.choice(item.value_type, ValueType, field=f"{p}.value_type")
        options = _clean_options(item.options, value_type, field=f"{p}.options")
        attr_id = item.id or _random.token_hex(8)
        validate.text(attr_id, field=f"{p}.id", max_len=64, required=True)
        if attr_id in ids:
            raise _taken(f"{p}.id", f"attribute {attr_id!r} already exists")
        ids.add(attr_id)
        order += 1
        created.append(
            AttributeDefinition(
                tenant_id=tenant_id,
                id=attr_id,
                name=name,
                value_type=value_type,
                options=options,
                order=order,
                ctime=now,
            )
        )
    tx.attrs.insert_definitions(created)
    tx.changed(tenant_id, "attrdefs", "*")
    recording.attribute_definitions(tx, tenant_id, Operation.CREATE, [a.id for a in created])
    return created


def _clean_options(
    raw: Sequence[tuple[str | None, str]], value_type: ValueType, *, field: str
) -> tuple[AttributeOption, ...]:
    if value_type is not ValueType.OPTION:
        if raw:
            raise errors.InvalidValue(f"{field}: only option attributes have options", field=field)
        return ()
    if not raw:
        raise errors.MissingField(f"{field}: an option attribute needs at least one option", field=field)
    if len(raw) > limits.ATTR_OPTIONS_MAX:
        raise errors.TooMany(
            f"{field} has {len(raw)} options; the limit is {limits.ATTR_OPTIONS_MAX}",
            field=field,
            limit=limits.ATTR_OPTIONS_MAX,
        )
    out: list[AttributeOption] = []
    keys: set[str] = set()
    for j, (key, name) in enumerate(raw):
        clean_name = validate.text(name, field=f"{field}[{j}].name", max_len=limits.NAME_MAX, required=True)
        assert clean_name is not None
        clean_key = validate.text(key, field=f"{field}[{j}].key", max_len=64) or _random.token_hex(4)
        if clean_key in keys:
            raise _taken(f"{field}[{j}].key", f"{clean_key!r} is used twice")
        keys.add(clean_key)
        out.append(AttributeOption(key=clean_key, name=clean_name))
    return tuple(out)


def read_values(r: Reader, *, tenant_id: str, user_ids: Sequence[str]) -> dict[str, list[AttributeValue]]:
    """Each existing user's values, in definition order. Unknown users are absent."""
    if len(user_ids) > limits.ATTR_READ_USERS_MAX:
        raise errors.TooMany(
            f"user_ids has {len(user_ids)} ids; the limit is {limits.ATTR_READ_USERS_MAX}",
            field="user_ids",
            limit=limits.ATTR_READ_USERS_MAX,
        )
    unique = list(dict.fromkeys(user_ids))
    present = r.users(tenant_id, unique)
    defs = r.definitions(tenant_id)
    order = {a.id: i for i, a in enumerate(defs)}
    values = r.tx.attrs.get_values(tenant_id, present, {a.id: a.value_type for a in defs})
    return {
        uid: sorted(values.get(uid, []), key=lambda v: order[v.attr_id]) for uid in unique if uid in present
    }


def update_values(d: Directory, *, tenant_id: str, updates: Sequence[UserAttributeUpdate]) -> list[str]:
    """Set attribute values for several users, all or none. Returns the user ids, in order."""
    return write_values(d, tenant_id=tenant_id, updates=updates).user_ids


def write_values(d: Directory, *, tenant_id: str, updates: Sequence[UserAttributeUpdate]) -> WrittenValues:
    """:func:`update_values`, returning what was written (:class:`WrittenValues`: each user's values
    after the write, for a reply, without reading them back)."""
    validate.count(updates, field="users", limit=limits.ATTR_UPDATE_USERS_MAX, what="user", verb="hold")
    with d.writer() as tx:
        return write_values_in(tx, tenant_id=tenant_id, updates=updates)


def update_values_in(
    tx: WriteTx,
    *,
    tenant_id: str,
    updates: Sequence[UserAttributeUpdate],
    definitions: Sequence[AttributeDefinition] | None = None,
) -> list[str]:
    """Set attribute values inside an open write transaction (see :func:`write_values_in`); returns
    the user ids, once each, in order."""
    return write_values_in(tx, tenant_id=tenant_id, updates=updates, definitions=definitions).user_ids


@dataclass(frozen=True, slots=True)
class WrittenValues:
    """What a batch wrote, with the values its people held before it (read once, as stored)."""

    definitions: Sequence[AttributeDefinition]
    #: The people of the batch, once each, in order.
    user_ids: list[str]
    stored: Mapping[tuple[str, str], str]
    written: Mapping[tuple[str, str], AttributeValue]
    cleared: set[tuple[str, str]]
    decode: Callable[[ValueType, str], AttributeValueData]

    def values(self) -> dict[str, list[AttributeValue]]:
        """Each person's values after the batch, in definition order: what reading them back gives."""
        out: dict[str, list[AttributeValue]] = {}
        for uid in self.user_ids:
            vs: list[AttributeValue] = []
            for a in self.definitions:
                key = (uid, a.id)
                if (v := self.written.get(key)) is not None:
                    vs.append(v)
                elif key not in self.cleared and (raw := self.stored.get(key)) is not None:
                    vs.append(AttributeValue(attr_id=a.id, value=self.decode(a.value_type, raw)))
            out[uid] = vs
        return out


def write_values_in(
    tx: WriteTx,
    *,
    tenant_id: str,
    updates: Sequence[UserAttributeUpdate],
    definitions: Sequence[AttributeDefinition] | None = None,
) -> WrittenValues:
    """Set attribute values inside an open write transaction (see :func:`update_values`).

    A handful of statements whatever the batch: one read per kind of thing checked (the
    definitions, unless the caller read them already and gives ``definitions``; the people named,
    whether as owners or in relations; the departments), one read of the current values, one
    upsert of every value set and one delete of every value cleared.
    """
    user_ids = [u.user_id for u in updates]
    relation_users = {a.relation_user for u in updates for a in u.attrs if a.relation_user}
    refs = (x for u in updates for a in u.attrs for x in (a.relation_depts or ()))
    dept_refs = {x for x in refs if x.isascii() and x.isdigit()}  # '²' is a digit to isdigit, not to int
    # Every read the batch needs, asked together (one round trip on PostgreSQL): the people named,
    # the departments named, the values held (compared with the batch's), and the definitions.
    reads = (
        tx.users.existing_ids_read(tenant_id, {*user_ids, *relation_users}),
        tx.depts.get_depts_read(tenant_id, [int(x) for x in dept_refs if len(x) <= 18]),
        tx.attrs.stored_values_read(tenant_id, user_ids),
    )
    listed: Sequence[AttributeDefinition]
    if definitions is None:
        # Asked once a group: the jobs after the first get them without a query (``WriteTx.kept``).
        defined = tx.kept(tx.attrs.definitions_read(tenant_id))
        known_users, depts_named, stored, fetched = tx.together(*reads, defined)
        listed = fetched
    else:
        known_users, depts_named, stored = tx.together(*reads)
        listed = definitions
    defs = {a.id: a for a in listed}
    present = known_users.intersection(user_ids)
    known = (present, known_users, set(depts_named))
    # The whole batch checked at once; when something fails, the long way names it.
    writes, clears = quick_batch(defs, updates, *known) or checked_batch(defs, updates, *known)
    written = _write_values(tx, tenant_id, listed, user_ids, stored, writes, clears)
    for uid in written.user_ids:
        tx.changed(tenant_id, "attrvals", uid)
    return written


def _write_values(
    tx: WriteTx,
    tenant_id: str,
    listed: Sequence[AttributeDefinition],
    user_ids: Sequence[str],
    stored: dict[tuple[str, str], str],
    writes: Sequence[tuple[str, AttributeValue]],
    clears: Sequence[tuple[str, str]],
) -> WrittenValues:
    """Write the checked ``writes`` and ``clears``, with one change record per user whose values
    they change. ``stored``: the values held by ``user_ids``, as stored (read once): a value written
    is compared with the stored one by its encoding (decoded only when the two differ), and is not
    written again when they are the same."""
    decode, held = tx.attrs.decode_value, stored.get
    types = {a.id: a.value_type for a in listed}
    changed: dict[str, list[str]] = {}
    rows: list[tuple[str, str, str]] = []
    for (uid, v), new in zip(writes, tx.attrs.encode_values([v.value for _, v in writes]), strict=True):
        raw = held((uid, v.attr_id))
        if raw != new:
            rows.append((uid, v.attr_id, new))
            if raw is None or decode(types[v.attr_id], raw) != v.value:
                changed.setdefault(uid, []).append(v.attr_id)
    for key in clears:
        if key in stored:
            changed.setdefault(key[0], []).append(key[1])
    recording.attribute_values(tx, tenant_id, changed)
    tx.attrs.put_stored_values(tenant_id, rows)
    tx.attrs.delete_values(tenant_id, clears)
    return WrittenValues(
        definitions=listed,
        user_ids=list(dict.fromkeys(user_ids)),
        stored=stored,
        written={(uid, v.attr_id): v for uid, v in writes},
        cleared=set(clears),
        decode=decode,
    )


@dataclass(frozen=True, slots=True)
class DefinitionChange:
    """What to change in one definition; a field left at None stays as it is."""

    id: str
    name: str | None = None
    value_type: str | None = None
    #: The complete new option list, as ``(key or None, name)``.
    options: tuple[tuple[str | None, str], ...] | None = None


def update_definitions(
    d: Directory, *, tenant_id: str, items: Sequence[DefinitionChange]
) -> list[AttributeDefinition]:
    """Rename attributes and change option lists, all or none.

    - The value type of an attribute cannot change (values of the old type
      would not fit); delete the attribute and define a new one instead.
    - ``options`` replaces the whole option list. An option keeps its key (and
      every value that points at it) when it is given with that key, or without
      a key but with its current name; it may be renamed. An option left out is
      removed, and every user value pointing at it is cleared in the same
      transaction: no value is ever left pointing at an option that no longer
      exists.
    """
    validate.count(items, field="items", limit=limits.ATTR_DEFS_BATCH_MAX, what="attribute")
    with d.writer() as tx:
        return update_definitions_in(tx, tenant_id=tenant_id, items=items)


def update_definitions_in(
    tx: WriteTx, *, tenant_id: str, items: Sequence[DefinitionChange]
) -> list[AttributeDefinition]:
    """:func:`update_definitions` inside an open write transaction."""
    existing = {a.id: a for a in tx.attrs.list_definitions(tenant_id)}
    names = {a.name: a.id for a in existing.values()}
    seen: set[str] = set()
    out: list[AttributeDefinition] = []
    cleared: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        p = f"items[{i}]"
        current = existing.get(item.id)
        if current is None:
            raise errors.UnknownAttribute(f"{p}.id: attribute {item.id!r} does not exist", field=f"{p}.id")
        if item.id in seen:
            raise errors.InvalidValue(f"{p}.id: attribute {item.id!r} appears twice", field=f"{p}.id")
        seen.add(item.id)
        name = current.name
        if item.name is not None:
            clean = validate.text(item.name, field=f"{p}.name", max_len=limits.NAME_MAX, required=True)
            assert clean is not None
            holder = names.get(clean)
            if holder is not None and holder != item.id:
                raise _taken(f"{p}.name", f"an attribute named {clean!r} already exists")
            names.pop(current.name, None)
            names[clean] = item.id
            name = clean
        if item.value_type is not None and item.value_type != current.value_type.value:
            raise errors.RuleViolation(
                f"{p}.value_type: attribute {item.id!r} holds {current.value_type.value} values and "
                "its type cannot change; delete it and define a new attribute instead",
                field=f"{p}.value_type",
            )
        options = current.options
        if item.options is not None:
            by_name = {o.name: o.key for o in current.options}
            raw = tuple((key if key else by_name.get(label), label) for key, label in item.options)
            options = _clean_options(raw, current.value_type, field=f"{p}.options")
            removed = current.option_keys() - {o.key for o in options}
            for uid in tx.attrs.delete_matching_values(tenant_id, [current.id], sorted(removed)):
                cleared.setdefault(uid, []).append(current.id)
        updated = AttributeDefinition(
            tenant_id=tenant_id,
            id=current.id,
            name=name,
            value_type=current.value_type,
            options=options,
            order=current.order,
            ctime=current.ctime,
        )
        tx.attrs.update_definition(updated)
        if updated != current:
            recording.attribute_definitions(tx, tenant_id, Operation.UPDATE, [updated.id])
        out.append(updated)
    tx.changed(tenant_id, "attrdefs", "*")
    for uid in cleared:
        tx.changed(tenant_id, "attrvals", uid)
    recording.attribute_values(tx, tenant_id, cleared)
    return out


def delete_definitions(d: Directory, *, tenant_id: str, attr_ids: Sequence[str]) -> list[str]:
    """Delete attributes and every value they hold, all or none; the distinct ids, in order."""
    validate.count(attr_ids, field="attr_ids", limit=limits.ATTR_DEFS_BATCH_MAX, what="attribute")
    unique = list(dict.fromkeys(attr_ids))
    with d.writer() as tx:
        existing = {a.id for a in tx.attrs.list_definitions(tenant_id)}
        for i, attr_id in enumerate(attr_ids):
            if attr_id not in existing:
                raise errors.UnknownAttribute(
                    f"attr_ids[{i}]: attribute {attr_id!r} does not exist", field=f"attr_ids[{i}]"
                )
        holders = tx.attrs.delete_matching_values(tenant_id, unique, None)
        tx.attrs.delete_definitions(tenant_id, unique)
        tx.changed(tenant_id, "attrdefs", "*")
        for uid in holders:
            tx.changed(tenant_id, "attrvals", uid)
        recording.attribute_definitions(tx, tenant_id, Operation.DELETE, unique)
        recording.attribute_values(tx, tenant_id, {uid: unique for uid in holders})
    return unique
