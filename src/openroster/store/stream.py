"""DingTalk Stream mode's shared state: tickets and the connections they opened.

``connections/open`` stores a ticket (:func:`insert_ticket`); the WebSocket that presents it takes
it with one conditional update (:func:`take_ticket`: unused and not expired, on the directory's
clock), so a ticket opens one connection whichever process gets the WebSocket. The row then
describes the connection: its id, the process holding it, ``alive_until`` (real time, pushed on by
:func:`keep_alive` while the connection answers) and ``closed_at``. :func:`connections` lists the
open ones; a process killed with its connections open stops pushing ``alive_until`` on, so they
drop out of the list by themselves. Times are unix ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from openroster.model.changes import StreamConnection
from openroster.store.schema import stream_tickets

t = stream_tickets


def insert_ticket(
    conn: Connection, ticket: str, *, tenant: str, app: str, topics: Sequence[Any], expires_at: int
) -> None:
    conn.execute(
        insert(t).values(
            ticket=ticket,
            tenant=tenant,
            app=app,
            topics=orjson.dumps(list(topics)).decode(),
            expires_at=expires_at,
        )
    )


def take_ticket(
    conn: Connection, ticket: str, *, now_ms: int, connection_id: str, worker: str, alive_until: int
) -> tuple[str, str, list[Any]] | None:
    """Use the ticket for connection ``connection_id``: ``(tenant, app, topics)``, or None for a
    ticket that is unknown, already used or expired."""
    taken = conn.execute(
        update(t)
        .where(t.c.ticket == ticket, t.c.used_at.is_(None), t.c.expires_at > now_ms)
        .values(used_at=now_ms, connection_id=connection_id, worker=worker, alive_until=alive_until)
    ).rowcount
    if not taken:
        return None
    row = conn.execute(select(t.c.tenant, t.c.app, t.c.topics).where(t.c.ticket == ticket)).one()
    return str(row.tenant), str(row.app), list(orjson.loads(row.topics))


def keep_alive(conn: Connection, connection_ids: Sequence[str], alive_until: int) -> None:
    if connection_ids:
        conn.execute(
            update(t)
            .where(t.c.connection_id.in_(list(connection_ids)), t.c.closed_at.is_(None))
            .values(alive_until=alive_until)
        )


def close(conn: Connection, connection_id: str, now_ms: int) -> None:
    conn.execute(update(t).where(t.c.connection_id == connection_id).values(closed_at=now_ms))


def connections(conn: Connection, tenant: str | None, wall_ms: int) -> list[StreamConnection]:
    """The open connections (of ``tenant``; None: of every tenant), oldest first."""
    q = select(t).where(t.c.used_at.is_not(None), t.c.closed_at.is_(None), t.c.alive_until > wall_ms)
    if tenant is not None:
        q = q.where(t.c.tenant == tenant)
    return [
        StreamConnection(r.tenant, r.app, r.connection_id, r.used_at, r.worker)
        for r in conn.execute(q.order_by(t.c.used_at, t.c.connection_id))
    ]


def prune(conn: Connection, *, now_ms: int, wall_ms: int) -> int:
    """Drop tickets expired unused and connections closed or lapsed; returns how many rows."""
    gone = or_(
        and_(t.c.used_at.is_(None), t.c.expires_at <= now_ms),
        t.c.closed_at.is_not(None),
        t.c.alive_until <= wall_ms,
    )
    return int(conn.execute(delete(t).where(gone)).rowcount)
