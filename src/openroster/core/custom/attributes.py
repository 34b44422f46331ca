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

import re
import secrets as _random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from openroster.core import recording, validate
from openroster.core.directory import Directory, Reader
from openroster.core.runtime import limits
from openroster.model import errors
from openroster.model.changes import Operation
from openroster.model.entities import (
    AttributeDefinition,
    AttributeOption,
    AttributeUpdate,
    AttributeValue,
    AttributeValueData,
    UrlValue,
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
    known_depts = set(depts_named)
    writes: list[tuple[str, AttributeValue]] = []
    clears: list[tuple[str, str]] = []
    seen_users: set[str] = set()
    for i, u in enumerate(updates):
        p = f"users[{i}]"
        if not u.user_id:
            raise errors.MissingField(f"{p}.user_id is required", field=f"{p}.user_id")
        if u.user_id in seen_users:
            raise errors.InvalidValue(
                f"{p}.user_id: user {u.user_id!r} appears twice in this batch", field=f"{p}.user_id"
            )
        seen_users.add(u.user_id)
        if u.user_id not in present:
            raise errors.NotFound(
                f"{p}.user_id: user {u.user_id!r} does not exist",
                field=f"{p}.user_id",
                entity=errors.Entity.USER,
            )
        validate.count(
            u.attrs,
            field=f"{p}.custom_attrs",
            limit=limits.ATTR_UPDATE_ATTRS_PER_USER_MAX,
            what="attribute",
            required=False,
        )
        for attr_id, value in checked_values(
            defs, u.attrs, field=p, known_users=known_users, known_depts=known_depts
        ):
            if value is None:
                clears.append((u.user_id, attr_id))
            else:
                writes.append((u.user_id, AttributeValue(attr_id=attr_id, value=value)))
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
    encode, decode = tx.attrs.encode_value, tx.attrs.decode_value
    types = {a.id: a.value_type for a in listed}
    changed: dict[str, list[str]] = {}
    rows: list[tuple[str, str, str]] = []
    for uid, v in writes:
        raw, new = stored.get((uid, v.attr_id)), encode(v.value)
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


def checked_values(
    defs: Mapping[str, AttributeDefinition],
    attrs: Sequence[AttributeUpdate],
    *,
    field: str,
    known_users: set[str],
    known_depts: set[int],
) -> list[tuple[str, AttributeValueData | None]]:
    """One person's attribute updates checked against their definitions: ``(attr_id, value)``, in
    order; ``None`` clears the attribute. Errors name ``{field}.custom_attrs[j]``.

    ``known_users`` / ``known_depts``: the users and departments a relation may name.
    """
    out: list[tuple[str, AttributeValueData | None]] = []
    seen: set[str] = set()
    for j, a in enumerate(attrs):
        q = f"{field}.custom_attrs[{j}]"
        try:
            definition = defs.get(a.attr_id)
            if definition is None:
                raise errors.UnknownAttribute(
                    f"{q}.attr_id: attribute {a.attr_id!r} does not exist", field=f"{q}.attr_id"
                )
            if a.attr_id in seen:
                raise errors.InvalidValue(
                    f"{q}.attr_id: attribute {a.attr_id!r} appears twice", field=f"{q}.attr_id"
                )
            seen.add(a.attr_id)
            value = checked_value(definition, a, field=q, known_users=known_users, known_depts=known_depts)
            out.append((a.attr_id, value))
        except errors.CoreError as exc:
            raise exc.in_field(errors.Entity.ATTRIBUTE, a.attr_id) from None
    return out


def checked_value(
    definition: AttributeDefinition,
    a: AttributeUpdate,
    *,
    field: str,
    known_users: set[str],
    known_depts: set[int],
) -> AttributeValueData | None:
    """One attribute update checked against its definition: the value to store (``None``: clear it).

    Errors name ``{field}.<part>`` (``text``, ``option``, ...); ``known_users`` / ``known_depts``
    are the users and departments a relation may name.
    """
    vt = definition.value_type
    if vt is ValueType.TEXT:
        if a.text is None:
            raise errors.MissingField(
                f"{field}.text is required for text attribute {definition.id!r}", field=f"{field}.text"
            )
        if len(a.text) > limits.ATTR_TEXT_MAX:
            raise errors.AttributeValueMismatch(
                f"{field}.text is longer than {limits.ATTR_TEXT_MAX} characters", field=f"{field}.text"
            )
        return a.text if a.text != "" else None
    if vt is ValueType.OPTION:
        if a.option is None:
            raise errors.MissingField(
                f"{field}.option is required for option attribute {definition.id!r}", field=f"{field}.option"
            )
        if a.option == "":
            return None
        if all(o.key != a.option for o in definition.options):  # (no set built per value)
            allowed = ", ".join(repr(o.key) for o in definition.options)
            raise errors.AttributeValueMismatch(
                f"{field}.option: {a.option!r} is not an option of attribute {definition.id!r}"
                f" (options: {allowed})",
                field=f"{field}.option",
            )
        return a.option
    if vt is ValueType.RELATION_USER:
        if a.relation_user is None:
            raise errors.MissingField(
                f"{field}.relation_user is required for relation_user attribute {definition.id!r}",
                field=f"{field}.relation_user",
            )
        if a.relation_user == "":
            return None
        if a.relation_user not in known_users:
            raise errors.BrokenReference(
                f"{field}.relation_user: user {a.relation_user!r} does not exist",
                field=f"{field}.relation_user",
                entity=errors.Entity.USER,
            )
        return a.relation_user
    if vt is ValueType.RELATION_DEPTS:
        if a.relation_depts is None:
            raise errors.MissingField(
                f"{field}.relation_depts is required for relation_depts attribute {definition.id!r}",
                field=f"{field}.relation_depts",
            )
        validate.count(
            a.relation_depts,
            field=f"{field}.relation_depts",
            limit=limits.ATTR_RELATION_DEPTS_MAX,
            what="department",
            required=False,
        )
        ids: list[int] = []
        for k, raw in enumerate(a.relation_depts):
            dept = validate.dept_id(raw, field=f"{field}.relation_depts[{k}]")
            if dept not in known_depts:
                raise errors.BrokenReference(
                    f"{field}.relation_depts[{k}]: department {raw!r} does not exist",
                    field=f"{field}.relation_depts[{k}]",
                    entity=errors.Entity.DEPARTMENT,
                )
            if dept not in ids:
                ids.append(dept)
        return tuple(ids) if ids else None
    # url
    if not a.has_url or a.url_link is None:
        raise errors.MissingField(
            f"{field}.url is required for url attribute {definition.id!r}", field=f"{field}.url"
        )
    link = a.url_link.strip()
    title = (a.url_title or "").strip()
    if link == "":
        return None
    if len(link) > limits.ATTR_URL_LINK_MAX:
        raise errors.AttributeValueMismatch(
            f"{field}.url.link is longer than {limits.ATTR_URL_LINK_MAX} characters",
            field=f"{field}.url.link",
        )
    if len(title) > limits.ATTR_URL_TITLE_MAX:
        raise errors.AttributeValueMismatch(
            f"{field}.url.title is longer than {limits.ATTR_URL_TITLE_MAX} characters",
            field=f"{field}.url.title",
        )
    # The only character printable and a space is " " (U+0020): the scan runs on a bad link only.
    if not link.isprintable() or " " in link:
        bad = next(c for c in link if c.isspace() or not c.isprintable())
        raise errors.AttributeValueMismatch(
            f"{field}.url.link: {link!r} holds {bad!r}; a link has no spaces or control characters "
            "(percent-encode them)",
            field=f"{field}.url.link",
        )
    if not _is_http_link(link):
        raise errors.AttributeValueMismatch(
            f"{field}.url.link: {link!r} is not an http(s) link", field=f"{field}.url.link"
        )
    return UrlValue(title=title, link=link)


#: A link that is plainly ``http(s)://host`` (no user, port or IPv6 brackets) and a path, query or
#: fragment: what :func:`_is_http_link` accepts without taking it apart.
_PLAIN_HTTP_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#]|\Z)", re.IGNORECASE)


def _is_http_link(link: str) -> bool:
    """``http://`` or ``https://``, a host, and (if any) a port that is a port number."""
    if _PLAIN_HTTP_LINK.match(link):
        return True
    try:
        parts = urlsplit(link)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is no number, or out of range; a malformed IPv6 host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and port_ok


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
