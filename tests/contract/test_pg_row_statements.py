"""PostgreSQL's multi-row statements (``store/sql``: one ``INSERT ... SELECT FROM unnest(arrays)``)
refuse what one row or ``executemany`` refuses, and change nothing then."""

from __future__ import annotations

import pytest
from psycopg.errors import StringDataRightTruncation
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from openroster.core.directory import Directory
from openroster.core.people import users
from openroster.core.tenancy import tenants
from openroster.store import schema
from openroster.store.inserts import insert_many, upsert

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

_KEY = ("tenant_id", "user_id", "group_id", "row_index", "field_code")


def _rows(n: int, field_code: str) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": "acme",
            "user_id": "p0",
            "group_id": "g",
            "row_index": i,
            "field_code": field_code,
            "value": "v",
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("rows", [1, 2])
@pytest.mark.parametrize("as_upsert", [False, True])
def test_an_over_long_string_is_refused_not_cut(directory: Directory, rows: int, as_upsert: bool) -> None:
    """``field_code`` is ``VARCHAR(64)``: 70 characters are refused whatever the number of rows (an
    array cast to ``VARCHAR(64)[]`` would cut them to 64 silently)."""
    tenants.create(directory, tenant_id="acme", name="Acme")
    users.create(directory, tenant_id="acme", item=users.NewUser(id="p0", user_name="P0", dept_ids=(1,)))
    with pytest.raises(DBAPIError) as refused, directory.store.write() as tx:
        if as_upsert:
            upsert(tx.conn, schema.roster_values, _rows(rows, "f" * 70), key=_KEY, update_columns=("value",))
        else:
            insert_many(tx.conn, schema.roster_values, _rows(rows, "f" * 70))
    assert isinstance(refused.value.orig, StringDataRightTruncation)
    with directory.store.read() as tx:
        assert tx.conn.execute(select(func.count()).select_from(schema.roster_values)).scalar_one() == 0
