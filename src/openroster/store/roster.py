"""Queries on roster values and on the employee lists of the roster."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from openroster.model.entities import FieldOption, StoredValue
from openroster.store.schema import roster_field_options, roster_values, users
from openroster.store.sql import upsert

_c = roster_values.c
# Built once (the write path's reads): building a statement per call cost several times running it.
_VALUES = (
    select(_c.user_id, _c.group_id, _c.row_index, _c.field_code, _c.value)
    .where(_c.tenant_id == bindparam("tenant"), _c.user_id.in_(bindparam("ids", expanding=True)))
    .order_by(_c.user_id, _c.group_id, _c.row_index, _c.field_code)
)
_ROW_COUNTS = (
    select(_c.group_id, func.max(_c.row_index))
    .where(
        _c.tenant_id == bindparam("tenant"),
        _c.user_id == bindparam("user"),
        _c.group_id.in_(bindparam("groups", expanding=True)),
    )
    .group_by(_c.group_id)
)


def get_values(conn: Connection, tenant_id: str, user_ids: Iterable[str]) -> dict[str, list[StoredValue]]:
    """Every stored roster value of each user, in (group, row, field) order. One indexed query."""
    wanted = list(set(user_ids))
    out: dict[str, list[StoredValue]] = defaultdict(list)
    if not wanted:
        return out
    rows = conn.execute(_VALUES, {"tenant": tenant_id, "ids": wanted}).all()
    for user_id, group_id, row, code, value in rows:
        out[user_id].append(StoredValue(group_id, row, code, value))
    return out


def row_counts(conn: Connection, tenant_id: str, user_id: str, group_ids: Iterable[str]) -> dict[str, int]:
    """How many rows each group holds for the user (highest row index + 1; 0 when none)."""
    wanted = list(set(group_ids))
    if not wanted:
        return {}
    rows = conn.execute(_ROW_COUNTS, {"tenant": tenant_id, "user": user_id, "groups": wanted}).all()
    counts = {g: 0 for g in wanted}
    for group_id, top in rows:
        counts[group_id] = int(top) + 1
    return counts


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
    c = roster_field_options.c
    rows = conn.execute(
        select(c.field_code, c.value, c.label, c.sort_order, c.deleted)
        .where(c.tenant_id == tenant_id)
        .order_by(c.field_code, c.sort_order, c.value)
    ).all()
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
