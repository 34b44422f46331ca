"""Whole-tenant row access, for snapshots and resets (``fixtures/snapshot.py``).

The tables a tenant's data lives in are found from the schema itself: every
table with a ``tenant_id`` column, in foreign-key order (parents first). A table
added later is therefore exported, imported and cleared without changes here.
Rows are plain ``{column: value}`` dicts without ``tenant_id``, ordered by
primary key, so the same data always reads back the same way. Callers name tables
by their names (``"apps"``); :func:`checked_row` checks a row against its table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from openroster.model.errors import InvalidValue
from openroster.store import schema

#: Bookkeeping tables that carry a tenant id but are not the tenant's data.
_NOT_TENANT_DATA = frozenset({"change_log", "change_records", "subscriptions", "deliveries"})
#: The table of apps (their rows carry a sealed secret).
APPS: str = str(schema.apps.name)
#: The tenants' own table (:func:`checked_row` checks a tenant row against it).
TENANTS: str = str(schema.tenants.name)
#: Tables of credentials that hang off apps (issued tokens): kept across resets, never exported.
CREDENTIAL_TABLES: tuple[str, ...] = (str(schema.dingtalk_tokens.name),)


def tenant_tables() -> tuple[str, ...]:
    """Every table holding tenant data, parents before children (apps and credentials included)."""
    return tuple(
        str(t.name)
        for t in schema.metadata.sorted_tables
        if "tenant_id" in t.c and t.name not in _NOT_TENANT_DATA and t is not schema.tenants
    )


def _table(name: str) -> Table:
    return schema.metadata.tables[name]


def _order(table: Table) -> list[Any]:
    return [c for c in table.primary_key.columns if c.name != "tenant_id"]


def read_rows(conn: Connection, name: str, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's rows of table ``name``, without ``tenant_id``, in primary-key order."""
    table = _table(name)
    rows = conn.execute(
        select(*[c for c in table.c if c.name != "tenant_id"])
        .where(table.c.tenant_id == tenant_id)
        .order_by(*_order(table))
    ).all()
    return [{str(k): v for k, v in r._mapping.items()} for r in rows]


def insert_rows(conn: Connection, name: str, tenant_id: str, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows read by :func:`read_rows`; rows the store's constraints refuse raise ``InvalidValue``."""
    if not rows:
        return
    table = _table(name)
    try:
        conn.execute(insert(table), [{**r, "tenant_id": tenant_id} for r in rows])
    except IntegrityError as exc:
        detail = str(exc.orig).splitlines()[0] if exc.orig is not None else "constraint violated"
        raise InvalidValue(
            f"{table.name}: the store refused these rows ({detail})", field=str(table.name)
        ) from None


def clear_tenant(conn: Connection, tenant_id: str, *, keep: Sequence[str] = ()) -> None:
    """Delete the tenant's rows from every data table except those named in ``keep``, children first."""
    for name in reversed(tenant_tables()):
        if name not in keep:
            table = _table(name)
            conn.execute(delete(table).where(table.c.tenant_id == tenant_id))


def read_tenant_row(conn: Connection, tenant_id: str) -> dict[str, Any] | None:
    """The tenant's own row, every column (``next_dept_id`` and ``seed`` included)."""
    row = conn.execute(select(schema.tenants).where(schema.tenants.c.id == tenant_id)).first()
    return {str(k): v for k, v in row._mapping.items()} if row is not None else None


def list_tenant_ids(conn: Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute(select(schema.tenants.c.id).order_by(schema.tenants.c.id))]


def write_tenant_row(conn: Connection, row: dict[str, Any]) -> None:
    """Insert the tenant row, or replace the columns of the existing one."""
    t = schema.tenants
    exists = conn.execute(select(t.c.id).where(t.c.id == row["id"])).first() is not None
    if exists:
        conn.execute(
            update(t).where(t.c.id == row["id"]).values(**{k: v for k, v in row.items() if k != "id"})
        )
    else:
        conn.execute(insert(t).values(**row))


def delete_tenant_row(conn: Connection, tenant_id: str) -> None:
    """Delete the tenant row (clear its data first: see :func:`clear_tenant`)."""
    conn.execute(delete(schema.tenants).where(schema.tenants.c.id == tenant_id))


def checked_row(name: str, row: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``row`` if every value fits its column of table ``name`` (``tenant_id`` aside); the error names
    the column (``where.column``)."""
    cols = {c.name: c for c in _table(name).c if c.name != "tenant_id"}
    for key in row:
        if key not in cols:
            raise InvalidValue(f"{where}.{key}: no such column", field=f"{where}.{key}")
    for key, col in cols.items():
        value = row.get(key)
        at = f"{where}.{key}"
        if value is None:
            if not col.nullable and (key in row or (col.default is None and col.server_default is None)):
                raise InvalidValue(f"{at}: is required", field=at)
            continue
        kind = col.type.python_type
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is str:
            ok = isinstance(value, str)
            length = getattr(col.type, "length", None)
            if ok and length is not None and len(value) > length:
                raise InvalidValue(f"{at}: longer than {length} characters", field=at)
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise InvalidValue(f"{at}: must be {kind.__name__}, not {type(value).__name__}", field=at)
    return dict(row)


def tenant_of_app(conn: Connection, client_id: str) -> str | None:
    value = conn.execute(select(schema.apps.c.tenant_id).where(schema.apps.c.client_id == client_id)).scalar()
    return None if value is None else str(value)
