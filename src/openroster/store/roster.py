"""Queries on roster values and on the employee lists of the roster."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from openroster.model.entities import FieldOption, StoredValue
from openroster.store.inserts import upsert
from openroster.store.schema import roster_field_options, roster_values, users
from openroster.store.sql import Read, one_query, run

_c = roster_values.c
# Built once (the write path's reads): building a statement per call cost several times running it.
_VALUES = (
    select(_c.user_id, _c.group_id, _c.row_index, _c.field_code, _c.value)
    .where(_c.tenant_id == bindparam("tenant"), _c.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(_c.user_id, _c.group_id, _c.row_index, _c.field_code)
)
_o = roster_field_options.c
_OPTIONS = (
    select(_o.field_code, _o.value, _o.label, _o.sort_order, _o.deleted)
    .where(_o.tenant_id == bindparam("tenant"))
    .order_by(_o.field_code, _o.sort_order, _o.value)
)


def get_values(conn: Connection, tenant_id: str, user_ids: Iterable[str]) -> dict[str, list[StoredValue]]:
    """Every stored roster value of each user, in (group, row, field) order. One indexed query."""
    return run(conn, get_values_read(conn, tenant_id, user_ids))


def get_values_read(
    conn: Connection, tenant_id: str, user_ids: Iterable[str]
) -> Read[dict[str, list[StoredValue]]]:
    """:func:`get_values` as a read to run with others (``sql.together``)."""
    wanted = list(set(user_ids))
    return one_query(_VALUES if wanted else None, {"tenant": tenant_id, "ids": wanted}, _values_by_user)


def _values_by_user(rows: Sequence[Any]) -> dict[str, list[StoredValue]]:
    out: dict[str, list[StoredValue]] = defaultdict(list)
    for user_id, group_id, row, code, value in rows:
        out[user_id].append(StoredValue(group_id, row, code, value))
    return out


def put_values(conn: Connection, tenant_id: str, items: Sequence[tuple[str, StoredValue]]) -> None:
    """Set each ``(user_id, value)`` (insert or replace); other fields of the same rows are left alone."""
    for start in range(0, len(items), 1000):
        upsert(
            conn,
            roster_values,
            [
                {
                    "tenant_id": tenant_id,
                    "user_id": user_id,
                    "group_id": v.group_id,
                    "row_index": v.row,
                    "field_code": v.field_code,
                    "value": v.value,
                }
                for user_id, v in items[start : start + 1000]
            ],
            key=("tenant_id", "user_id", "group_id", "row_index", "field_code"),
            update_columns=("value",),
        )


def page_user_ids(
    conn: Connection,
    tenant_id: str,
    *,
    statuses: Sequence[str],
    employment_statuses: Sequence[str | None] | None,
    offset: int,
    limit: int,
) -> list[str]:
    """User ids with one of ``statuses`` (and, if given, one of ``employment_statuses``; ``None``
    meaning unset), ordered by id, from ``offset``. Uses the (tenant, status, id) index."""
    q = select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.status.in_(list(statuses)))
    if employment_statuses is not None:
        named = [s for s in employment_statuses if s is not None]
        conds = [users.c.employment_status.in_(named)] if named else []
        if None in employment_statuses:
            conds.append(users.c.employment_status.is_(None))
        if not conds:
            return []
        q = q.where(conds[0] if len(conds) == 1 else conds[0] | conds[1])
    rows = conn.execute(q.order_by(users.c.id).offset(offset).limit(limit)).all()
    return [r[0] for r in rows]


def list_field_options(conn: Connection, tenant_id: str) -> dict[str, tuple[FieldOption, ...]]:
    """The options of each select field whose options the tenant changed, in their order
    (deleted ones included); a field the tenant never changed is absent."""
    return run(conn, list_field_options_read(conn, tenant_id))


def list_field_options_read(conn: Connection, tenant_id: str) -> Read[dict[str, tuple[FieldOption, ...]]]:
    """:func:`list_field_options` as a read to run with others (``sql.together``)."""
    return one_query(_OPTIONS, {"tenant": tenant_id}, _options_by_field)


def _options_by_field(rows: Sequence[Any]) -> dict[str, tuple[FieldOption, ...]]:
    out: dict[str, list[FieldOption]] = defaultdict(list)
    for code, value, label, order, deleted in rows:
        out[code].append(FieldOption(code, value, label, int(order), bool(deleted)))
    return {code: tuple(options) for code, options in out.items()}


def put_field_options(
    conn: Connection, tenant_id: str, field_code: str, options: Sequence[FieldOption]
) -> None:
    """Replace the field's stored options with ``options`` (all of them, deleted ones included)."""
    c = roster_field_options.c
    conn.execute(delete(roster_field_options).where(c.tenant_id == tenant_id, c.field_code == field_code))
    if options:
        conn.execute(
            insert(roster_field_options),
            [
                {
                    "tenant_id": tenant_id,
                    "field_code": field_code,
                    "value": o.value,
                    "label": o.label,
                    "sort_order": o.order,
                    "deleted": o.deleted,
                }
                for o in options
            ],
        )
