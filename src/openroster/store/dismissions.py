"""Queries on dismission records, the reason catalogue and the leave log (``model/dismissions.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from openroster.model import dismissions as model
from openroster.store.inserts import upsert
from openroster.store.schema import dismission_reasons, dismissions, leave_log
from openroster.store.sql import column_values, from_columns

_JSON_COLUMNS = frozenset({"state", "voluntary", "passive", "depts"})


def _dismission(r: Any) -> model.Dismission:
    m = r._mapping
    return from_columns(
        model.Dismission,
        m,
        state=model.DismissionState(m["state"]),
        voluntary=tuple(orjson.loads(m["voluntary"])),
        passive=tuple(orjson.loads(m["passive"])),
        depts=tuple(
            model.DeptWhenLeaving(int(x["dept_id"]), str(x["path"])) for x in orjson.loads(m["depts"])
        ),
    )


def get_dismissions(conn: Connection, tenant_id: str, user_ids: Iterable[str]) -> dict[str, model.Dismission]:
    """The dismission record of each of ``user_ids`` that has one."""
    wanted = list(set(user_ids))
    if not wanted:
        return {}
    c = dismissions.c
    rows = conn.execute(select(dismissions).where(c.tenant_id == tenant_id, c.user_id.in_(wanted))).all()
    return {r.user_id: _dismission(r) for r in rows}


def put_dismission(conn: Connection, tenant_id: str, record: model.Dismission) -> None:
    """Insert the person's record, or replace the one they have."""
    row = {
        **column_values(record, without=_JSON_COLUMNS),
        "tenant_id": tenant_id,
        "state": record.state.value,
        "voluntary": orjson.dumps(list(record.voluntary)).decode(),
        "passive": orjson.dumps(list(record.passive)).decode(),
        "depts": orjson.dumps([{"dept_id": x.dept_id, "path": x.path} for x in record.depts]).decode(),
    }
    upsert(
        conn,
        dismissions,
        [row],
        key=("tenant_id", "user_id"),
        update_columns=tuple(k for k in row if k not in ("tenant_id", "user_id")),
    )


def delete_dismission(conn: Connection, tenant_id: str, user_id: str) -> bool:
    c = dismissions.c
    return bool(
        conn.execute(delete(dismissions).where(c.tenant_id == tenant_id, c.user_id == user_id)).rowcount
    )


def done_page(conn: Connection, tenant_id: str, *, offset: int, limit: int) -> list[model.Dismission]:
    """Records of people who left, by the last change then user id, from ``offset``."""
    c = dismissions.c
    rows = conn.execute(
        select(dismissions)
        .where(c.tenant_id == tenant_id, c.state == model.DismissionState.DONE.value)
        .order_by(c.mtime, c.user_id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [_dismission(r) for r in rows]


def list_reasons(conn: Connection, tenant_id: str) -> list[model.DismissionReason]:
    """The company's reasons, by kind then order (none: the tenant has no catalogue of its own)."""
    c = dismission_reasons.c
    rows = conn.execute(
        select(c.id, c.kind, c.name, c.sort_order)
        .where(c.tenant_id == tenant_id)
        .order_by(c.kind, c.sort_order, c.id)
    ).all()
    return [model.DismissionReason(r.id, model.ReasonKind(r.kind), r.name, r.sort_order) for r in rows]


def insert_reasons(conn: Connection, tenant_id: str, reasons: Sequence[model.DismissionReason]) -> None:
    if reasons:
        conn.execute(
            insert(dismission_reasons),
            [{**column_values(x), "tenant_id": tenant_id, "kind": x.kind.value} for x in reasons],
        )


def append_leave(conn: Connection, tenant_id: str, entry: model.LeaveEntry) -> None:
    """Add a row to the leave log (the same person, time and reason twice: kept once)."""
    row = {**column_values(entry), "tenant_id": tenant_id, "reason": entry.reason.value}
    upsert(conn, leave_log, [row], key=("tenant_id", "time", "user_id", "reason"), update_columns=("name",))


def leave_page(
    conn: Connection, tenant_id: str, *, start: int, end: int, offset: int, limit: int
) -> list[model.LeaveEntry]:
    """Leave-log rows with ``start <= time < end``, in time then user order, from ``offset``."""
    c = leave_log.c
    rows = conn.execute(
        select(c.user_id, c.time, c.reason, c.name, c.mobile)
        .where(c.tenant_id == tenant_id, c.time >= start, c.time < end)
        .order_by(c.time, c.user_id, c.reason)
        .offset(offset)
        .limit(limit)
    ).all()
    return [model.LeaveEntry(r.user_id, r.time, model.LeaveReason(r.reason), r.name, r.mobile) for r in rows]
