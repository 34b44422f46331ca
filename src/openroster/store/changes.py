"""The change counter and the change log: how every process learns what another one wrote."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from openroster.store import schema


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    tenant_id: str
    kind: str
    key: str


def current_seq(conn: Connection) -> int:
    """The change counter as this transaction sees it."""
    return int(
        conn.execute(select(schema.change_counter.c.seq).where(schema.change_counter.c.id == 1)).scalar_one()
    )


def since(conn: Connection, seq: int, limit: int) -> Sequence[Change]:
    """The changes after ``seq``, oldest first, at most ``limit`` of them."""
    rows = conn.execute(
        select(
            schema.change_log.c.seq,
            schema.change_log.c.tenant_id,
            schema.change_log.c.kind,
            schema.change_log.c.entity_key,
        )
        .where(schema.change_log.c.seq > seq)
        .order_by(schema.change_log.c.seq)
        .limit(limit)
    ).all()
    return [Change(r[0], r[1], r[2], r[3]) for r in rows]


def publish(conn: Connection, changed: Iterable[tuple[str, str, str]]) -> None:
    """Bump the counter and log ``(tenant_id, kind, key)`` records under the new value."""
    seq = conn.execute(
        update(schema.change_counter)
        .where(schema.change_counter.c.id == 1)
        .values(seq=schema.change_counter.c.seq + 1)
        .returning(schema.change_counter.c.seq)
    ).scalar_one()
    conn.execute(
        insert(schema.change_log),
        [{"seq": seq, "tenant_id": t, "kind": k, "entity_key": key} for (t, k, key) in sorted(changed)],
    )
