"""Queries on custom attribute definitions and values."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, delete, select, update

from openroster.model.entities import (
    AttributeDefinition,
    AttributeOption,
    AttributeValue,
    AttributeValueData,
    UrlValue,
    ValueType,
)
from openroster.store.inserts import insert_many, upsert
from openroster.store.schema import attr_defs, attr_values
from openroster.store.sql import Read, column_values, from_columns, one_query, run


def _options(options: tuple[AttributeOption, ...]) -> str:
    return orjson.dumps([{"key": o.key, "name": o.name} for o in options]).decode()


def _definition(row: Any) -> AttributeDefinition:
    r = row._mapping
    return from_columns(
        AttributeDefinition,
        r,
        value_type=ValueType(r["value_type"]),
        options=tuple(AttributeOption(key=o["key"], name=o["name"]) for o in orjson.loads(r["options"])),
        order=r["sort_order"],
    )


# The write path's reads, built once: building a statement per call cost several times running it.
_DEFINITIONS = (
    select(attr_defs)
    .where(attr_defs.c.tenant_id == bindparam("tenant"))
    .order_by(attr_defs.c.sort_order, attr_defs.c.id)
)
_STORED_VALUES = select(attr_values.c.user_id, attr_values.c.attr_id, attr_values.c.value).where(
    attr_values.c.tenant_id == bindparam("tenant"),
    attr_values.c.user_id.in_(bindparam("ids", expanding=True)),
)


def list_definitions(conn: Connection, tenant_id: str) -> list[AttributeDefinition]:
    return run(conn, definitions_read(conn, tenant_id))


def definitions_read(conn: Connection, tenant_id: str) -> Read[list[AttributeDefinition]]:
    """:func:`list_definitions` as a read to run with others (``sql.together``)."""
    return one_query(_DEFINITIONS, {"tenant": tenant_id}, _definitions)


def _definitions(rows: Sequence[Any]) -> list[AttributeDefinition]:
    return [_definition(r) for r in rows]


def insert_definitions(conn: Connection, items: Sequence[AttributeDefinition]) -> None:
    rows = [
        {
            **column_values(d, without={"order"}),
            "value_type": d.value_type.value,
            "options": _options(d.options),
            "sort_order": d.order,
        }
        for d in items
    ]
    insert_many(conn, attr_defs, rows)


def encode_value(value: AttributeValueData) -> str:
    """A value's stored text: orjson writes a tuple as the list and a :class:`UrlValue` (a
    dataclass, its fields in order) as the ``{"title", "link"}`` object. Stored texts are compared
    and matched as text (unchanged values skipped, ``delete_matching_values``): one encoder."""
    return orjson.dumps(value).decode()


def encode_values(values: Sequence[AttributeValueData]) -> list[str]:
    """:func:`encode_value` of each."""
    dumps = orjson.dumps
    return [dumps(v).decode() for v in values]


def decode_value(value_type: ValueType, raw: str) -> AttributeValueData:
    data = orjson.loads(raw)
    if value_type is ValueType.URL:
        return UrlValue(title=data.get("title", ""), link=data.get("link", ""))
    if value_type is ValueType.RELATION_DEPTS:
        return tuple(int(x) for x in data)
    return str(data)


def get_values(
    conn: Connection, tenant_id: str, user_ids: Iterable[str], types: dict[str, ValueType]
) -> dict[str, list[AttributeValue]]:
    wanted = list(set(user_ids))
    out: dict[str, list[AttributeValue]] = defaultdict(list)
    if not wanted:
        return out
    rows = conn.execute(
        select(attr_values.c.user_id, attr_values.c.attr_id, attr_values.c.value).where(
            attr_values.c.tenant_id == tenant_id, attr_values.c.user_id.in_(wanted)
        )
    ).all()
    for user_id, attr_id, raw in rows:
        vt = types.get(attr_id)
        if vt is not None:
            out[user_id].append(AttributeValue(attr_id=attr_id, value=decode_value(vt, raw)))
    return out


def get_stored_values(
    conn: Connection, tenant_id: str, user_ids: Iterable[str]
) -> dict[tuple[str, str], str]:
    """Every value of ``user_ids`` as stored (:func:`encode_value`'s JSON), by ``(user_id, attr_id)``:
    what a writer compares a value it encoded with, decoding only what differs."""
    return run(conn, stored_values_read(conn, tenant_id, user_ids))


def stored_values_read(
    conn: Connection, tenant_id: str, user_ids: Iterable[str]
) -> Read[dict[tuple[str, str], str]]:
    """:func:`get_stored_values` as a read to run with others (``sql.together``)."""
    wanted = list(set(user_ids))
    return one_query(_STORED_VALUES if wanted else None, {"tenant": tenant_id, "ids": wanted}, _stored_by_key)


def _stored_by_key(rows: Sequence[Any]) -> dict[tuple[str, str], str]:
    return {(user_id, attr_id): raw for user_id, attr_id, raw in rows}


def put_values(conn: Connection, tenant_id: str, items: Sequence[tuple[str, AttributeValue]]) -> None:
    """Set (insert or replace) each ``(user_id, value)``."""
    put_stored_values(conn, tenant_id, [(user_id, v.attr_id, encode_value(v.value)) for user_id, v in items])


def put_stored_values(conn: Connection, tenant_id: str, items: Sequence[tuple[str, str, str]]) -> None:
    """Set (insert or replace) each ``(user_id, attr_id, value as encode_value gives it)``."""
    if not items:
        return
    upsert(
        conn,
        attr_values,
        [
            {"tenant_id": tenant_id, "user_id": user_id, "attr_id": attr_id, "value": raw}
            for user_id, attr_id, raw in items
        ],
        key=("tenant_id", "user_id", "attr_id"),
        update_columns=("value",),
    )


def delete_values(conn: Connection, tenant_id: str, keys: Sequence[tuple[str, str]]) -> None:
    """Remove each ``(user_id, attr_id)`` value (one statement, run for every key at once)."""
    if not keys:
        return
    conn.execute(
        delete(attr_values).where(
            attr_values.c.tenant_id == tenant_id,
            attr_values.c.user_id == bindparam("k_user"),
            attr_values.c.attr_id == bindparam("k_attr"),
        ),
        [{"k_user": user_id, "k_attr": attr_id} for user_id, attr_id in keys],
    )


def update_definition(conn: Connection, d: AttributeDefinition) -> None:
    """Write ``d``'s name and options."""
    conn.execute(
        update(attr_defs)
        .where(attr_defs.c.tenant_id == d.tenant_id, attr_defs.c.id == d.id)
        .values(name=d.name, options=_options(d.options))
    )


def delete_definitions(conn: Connection, tenant_id: str, attr_ids: Sequence[str]) -> None:
    """Delete definitions and every value they hold."""
    if not attr_ids:
        return
    conn.execute(
        delete(attr_values).where(attr_values.c.tenant_id == tenant_id, attr_values.c.attr_id.in_(attr_ids))
    )
    conn.execute(delete(attr_defs).where(attr_defs.c.tenant_id == tenant_id, attr_defs.c.id.in_(attr_ids)))


def _holding(tenant_id: str, attr_ids: Sequence[str], values: Sequence[AttributeValueData] | None) -> Any:
    cond = (attr_values.c.tenant_id == tenant_id) & attr_values.c.attr_id.in_(attr_ids)
    if values is not None:
        cond = cond & attr_values.c.value.in_([encode_value(v) for v in values])
    return cond


def delete_matching_values(
    conn: Connection, tenant_id: str, attr_ids: Sequence[str], values: Sequence[AttributeValueData] | None
) -> list[str]:
    """Delete the values of ``attr_ids`` equal to one of ``values`` (None: all); return their users."""
    if not attr_ids or (values is not None and not values):
        return []
    cond = _holding(tenant_id, attr_ids, values)
    holders = sorted({r[0] for r in conn.execute(select(attr_values.c.user_id).where(cond)).all()})
    if holders:
        conn.execute(delete(attr_values).where(cond))
    return holders


def remove_dept_from_values(
    conn: Connection, tenant_id: str, attr_ids: Sequence[str], dept_id: int
) -> list[str]:
    """Drop ``dept_id`` from every relation_depts value of ``attr_ids``; the users whose values changed.

    A value left without departments is deleted (an empty value means "not set").
    """
    if not attr_ids:
        return []
    changed: list[str] = []
    rows = conn.execute(
        select(attr_values.c.user_id, attr_values.c.attr_id, attr_values.c.value).where(
            attr_values.c.tenant_id == tenant_id,
            attr_values.c.attr_id.in_(attr_ids),
            attr_values.c.value.like(f"%{dept_id}%"),
        )
    ).all()
    for user_id, attr_id, raw in rows:
        old = decode_value(ValueType.RELATION_DEPTS, raw)
        assert isinstance(old, tuple)
        if dept_id not in old:
            continue
        kept = tuple(x for x in old if x != dept_id)
        key = (
            (attr_values.c.tenant_id == tenant_id)
            & (attr_values.c.user_id == user_id)
            & (attr_values.c.attr_id == attr_id)
        )
        if kept:
            conn.execute(update(attr_values).where(key).values(value=encode_value(kept)))
        else:
            conn.execute(delete(attr_values).where(key))
        changed.append(user_id)
    return changed
