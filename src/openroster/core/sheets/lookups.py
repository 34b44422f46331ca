"""What an import or export reads from the store, in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from openroster.model.entities import (
    AttributeDefinition,
    AttributeValueData,
    User,
)
from openroster.store import attrs as attr_rows
from openroster.store import roster as roster_rows
from openroster.store import users as user_rows

#: Users read or looked up per query.
BATCH = 500


def taken_values(conn: Connection, tenant_id: str, column: str, values: Sequence[str]) -> dict[str, str]:
    return user_rows.find_taken_values(conn, tenant_id, column, [v for v in values if v])


def users_by_id(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, User]:
    out: dict[str, User] = {}
    for start in range(0, len(ids), BATCH):
        out.update(user_rows.get_users(conn, tenant_id, ids[start : start + BATCH]))
    return out


def attribute_values(
    conn: Connection, tenant_id: str, ids: Sequence[str], defs: Mapping[str, AttributeDefinition]
) -> dict[str, dict[str, AttributeValueData]]:
    types = {a.id: a.value_type for a in defs.values()}
    out: dict[str, dict[str, AttributeValueData]] = {}
    for start in range(0, len(ids), BATCH):
        for uid, values in attr_rows.get_values(conn, tenant_id, ids[start : start + BATCH], types).items():
            out[uid] = {v.attr_id: v.value for v in values}
    return out


def first_roster_rows(conn: Connection, tenant_id: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each person's stored roster values of the first row of every group."""
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), BATCH):
        for uid, values in roster_rows.get_values(conn, tenant_id, ids[start : start + BATCH]).items():
            out[uid] = {v.field_code: v.value for v in values if v.row == 0}
    return out
