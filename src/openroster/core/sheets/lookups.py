"""What an import or export reads from the store, in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from openroster.model.entities import (
    AttributeDefinition,
    AttributeValueData,
    User,
)
from openroster.store import Tx

#: Users read or looked up per query.
BATCH = 500


def taken_values(tx: Tx, tenant_id: str, column: str, values: Sequence[str]) -> dict[str, str]:
    return tx.users.find_taken_values(tenant_id, column, [v for v in values if v])


def users_by_id(tx: Tx, tenant_id: str, ids: Sequence[str]) -> dict[str, User]:
    out: dict[str, User] = {}
    for start in range(0, len(ids), BATCH):
        out.update(tx.users.get_users(tenant_id, ids[start : start + BATCH]))
    return out


def attribute_values(
    tx: Tx, tenant_id: str, ids: Sequence[str], defs: Mapping[str, AttributeDefinition]
) -> dict[str, dict[str, AttributeValueData]]:
    types = {a.id: a.value_type for a in defs.values()}
    out: dict[str, dict[str, AttributeValueData]] = {}
    for start in range(0, len(ids), BATCH):
        for uid, values in tx.attrs.get_values(tenant_id, ids[start : start + BATCH], types).items():
            out[uid] = {v.attr_id: v.value for v in values}
    return out


def first_roster_rows(tx: Tx, tenant_id: str, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Each person's stored roster values of the first row of every group."""
    out: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), BATCH):
        for uid, values in tx.roster.get_values(tenant_id, ids[start : start + BATCH]).items():
            out[uid] = {v.field_code: v.value for v in values if v.row == 0}
    return out
